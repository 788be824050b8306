/** postgres.js (prepared statements): the library's statements, as text and parameters; and its COPY. */
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import postgres from "postgres"
import { promiseLoop } from "../Measure.ts"
import { type Operation, statementsOf } from "../Operations.ts"
import { type Contender, warmUpSeconds } from "./Contender.ts"

const connect = (url: string, poolSize: number) =>
  postgres(url, {
    max: poolSize,
    prepare: true,
    idle_timeout: 600,
    onnotice: () => {},
    connection: { application_name: "pk-bench-postgresjs" },
    // The statements bind jsonb as JSON text, as the library does; postgres.js would stringify it again.
    types: {
      jsonbText: {
        to: 3802,
        from: [3802],
        serialize: (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value)),
        parse: (text: string) => JSON.parse(text)
      }
    }
  })

type Sql = ReturnType<typeof connect>

/**
 * A pool of its own per measurement, opened during the warm-up: postgres.js sends consecutive queries to its
 * open connections in turn, so a pool that a 32-caller case grew to 10 connections runs a single caller 3-4×
 * slower (each query wakes another backend). pgbench, too, opens its connections for each run.
 */
const measured = async (
  url: string,
  poolSize: number,
  op: (sql: Sql, i: number) => Promise<unknown>,
  callers: number,
  seconds: number
) => {
  const sql = connect(url, poolSize)
  try {
    await promiseLoop((i) => op(sql, i), callers, warmUpSeconds(seconds))
    return await promiseLoop((i) => op(sql, i), callers, seconds)
  } finally {
    await sql.end({ timeout: 5 })
  }
}

export const makePostgresJs = (url: string, poolSize: number): Contender => ({
  name: "postgres.js",
  runs: () => true,
  measure: (operation, callers, seconds) =>
    measured(
      url,
      poolSize,
      (sql, i) =>
        operation.transaction === undefined
          ? sql.unsafe(operation.sql, operation.params(i) as Parameters<Sql["unsafe"]>[1], { prepare: true })
          : sql.begin(async (tx) => {
              for (const statement of statementsOf(operation, i))
                await tx.unsafe(statement.sql, statement.params as Parameters<Sql["unsafe"]>[1], { prepare: true })
            }),
      callers,
      seconds
    ),
  close: async () => {}
})

/** The rows of `appendMany` through COPY ... FROM STDIN on a postgres.js connection. */
export const makeCopy = (url: string, poolSize: number): Contender => {
  const copyOnce = (sql: Sql, operation: Operation, i: number) => {
    const copy = operation.copy!
    return sql
      .unsafe(copy.statement)
      .writable()
      .then((sink) => pipeline(Readable.from([copy.rows(i)]), sink))
  }
  return {
    name: "COPY (postgres.js)",
    runs: (operation) => operation.copy !== undefined,
    measure: (operation, callers, seconds) =>
      measured(url, poolSize, (sql, i) => copyOnce(sql, operation, i), callers, seconds),
    close: async () => {}
  }
}
