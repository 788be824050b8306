import { Effect } from "effect"
import { Statement } from "effect/sql"

/** A statement as the client sent it: its SQL text (with `$n` placeholders) and its parameters. */
export interface RecordedStatement {
  readonly sql: string
  readonly params: ReadonlyArray<unknown>
}

/**
 * Runs `effect` and returns, with its result, every statement the SQL client executed for it, compiled the
 * way the client sends it. It hooks `Statement.CurrentTransformer`, which the client applies to each
 * statement before running it, so nothing is mocked and the statements still run.
 */
export const recordStatements = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<readonly [A, ReadonlyArray<RecordedStatement>], E, R> =>
  Effect.suspend(() => {
    const recorded: Array<RecordedStatement> = []
    const transformer: Statement.Transformer = (statement) =>
      Effect.sync(() => {
        const [sql, params] = statement.compile()
        recorded.push({ sql, params })
        return statement
      })
    return Effect.map(Effect.provideService(effect, Statement.CurrentTransformer, transformer), (result) => [
      result,
      recorded
    ])
  })

/** The SQL text with runs of whitespace made one space, for comparing statements written differently. */
export const normalizeSql = (sql: string): string => sql.replace(/\s+/g, " ").trim()
