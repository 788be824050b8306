/** @effect/sql-pg with no layer of ours on top: the library's statements, as text and parameters. */
import { PgClient } from "@effect/sql-pg"
import { Effect, ManagedRuntime, Redacted } from "effect"
import { effectLoop } from "../Measure.ts"
import { type Operation, statementsOf } from "../Operations.ts"
import { type Contender, warmUpSeconds } from "./Contender.ts"

/** The i-th call's statement; a transaction's statements one after the other between BEGIN and COMMIT. */
export const rawCall = (client: PgClient.PgClient, operation: Operation, i: number): Effect.Effect<unknown, unknown> =>
  operation.transaction === undefined
    ? client.unsafe(operation.sql, operation.params(i))
    : client.withTransaction(
        Effect.forEach(statementsOf(operation, i), (statement) => client.unsafe(statement.sql, statement.params))
      )

export const makeRawEffectSql = async (url: string, poolSize: number): Promise<Contender> => {
  const runtime = ManagedRuntime.make(
    PgClient.layer({
      url: Redacted.make(url),
      maxConnections: poolSize,
      idleTimeout: "10 minutes",
      applicationName: "pk-bench-raw"
    })
  )
  const client = await runtime.runPromise(
    Effect.gen(function* () {
      return yield* PgClient.PgClient
    })
  )
  const measure = async (operation: Operation, callers: number, seconds: number) => {
    const op = (i: number) => rawCall(client, operation, i)
    await runtime.runPromise(effectLoop(op, callers, warmUpSeconds(seconds)))
    return runtime.runPromise(effectLoop(op, callers, seconds))
  }
  return { name: "raw @effect/sql-pg", runs: () => true, measure, close: () => runtime.dispose() }
}
