/** postgres.js (prepared statements): the library's statements, as text and parameters; and its COPY. */
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import postgres from "postgres"
import { promiseLoop } from "../Measure.ts"
import type { Operation } from "../Operations.ts"
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

const measured = async (op: (i: number) => Promise<unknown>, callers: number, seconds: number) => {
  await promiseLoop(op, callers, warmUpSeconds(seconds))
  return promiseLoop(op, callers, seconds)
}

export const makePostgresJs = (url: string, poolSize: number): Contender => {
  const sql = connect(url, poolSize)
  return {
    name: "postgres.js",
    runs: () => true,
    measure: (operation, callers, seconds) =>
      measured(
        (i) => sql.unsafe(operation.sql, operation.params(i) as Parameters<typeof sql.unsafe>[1], { prepare: true }),
        callers,
        seconds
      ),
    close: () => sql.end({ timeout: 5 })
  }
}

/** The rows of `appendMany` through COPY ... FROM STDIN on a postgres.js connection. */
export const makeCopy = (url: string, poolSize: number): Contender => {
  const sql = connect(url, poolSize)
  const copyOnce = (operation: Operation, i: number) => {
    const copy = operation.copy!
    return sql
      .unsafe(copy.statement)
      .writable()
      .then((sink) => pipeline(Readable.from([copy.rows(i)]), sink))
  }
  return {
    name: "COPY (postgres.js)",
    runs: (operation) => operation.copy !== undefined,
    measure: (operation, callers, seconds) => measured((i) => copyOnce(operation, i), callers, seconds),
    close: () => sql.end({ timeout: 5 })
  }
}
