/** @effect/sql-pg with no layer of ours on top: the library's statements, as text and parameters. */
import { PgClient } from "@effect/sql-pg"
import { Effect, ManagedRuntime, Redacted } from "effect"
import { effectLoop } from "../Measure.ts"
import type { Operation } from "../Operations.ts"
import { type Contender, warmUpSeconds } from "./Contender.ts"

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
    const op = (i: number) => client.unsafe(operation.sql, operation.params(i))
    await runtime.runPromise(effectLoop(op, callers, warmUpSeconds(seconds)))
    return runtime.runPromise(effectLoop(op, callers, seconds))
  }
  return { name: "raw @effect/sql-pg", runs: () => true, measure, close: () => runtime.dispose() }
}
