import { Cause, Context, Effect, Exit, Layer, Logger } from "effect"
import { SqlClient } from "effect/sql"
import { AppConfig } from "../../src/Config/AppConfig.ts"
import type { AppConfigValues } from "../../src/Config/ConfigSchema.ts"
import * as DatabaseClient from "../../src/Database/Client/DatabaseClient.ts"
import { DatabaseTarget } from "../../src/Database/Client/DatabaseTarget.ts"

export interface StartupOutcome<A> {
  readonly exit: Exit.Exit<A, unknown>
  /** The failure's message, when it failed. */
  readonly message: string
  readonly elapsedMs: number
  /** Warnings logged on the way (e.g. "database not reachable yet, retrying"). */
  readonly warnings: ReadonlyArray<string>
}

/**
 * Builds the client the library builds at startup (target from the configuration, then the startup check of
 * `DatabaseClient.make`), runs `use` with it, and reports how that went and how long it took.
 */
export const startClient = <A, E>(
  config: AppConfigValues,
  use: (sql: SqlClient.SqlClient) => Effect.Effect<A, E>
): Effect.Effect<StartupOutcome<A>> =>
  Effect.gen(function* () {
    const warnings: Array<string> = []
    const capture = Logger.make(({ logLevel, message }) => {
      if (logLevel === "Warn") warnings.push([message].flat().map(String).join(" "))
    })
    const started = Date.now()
    const exit = yield* Effect.exit(
      Effect.scoped(
        Effect.gen(function* () {
          const services = yield* Layer.build(
            DatabaseClient.layer.pipe(
              Layer.provide(DatabaseTarget.layer({ embedded: "attach" })),
              Layer.provide(AppConfig.layerFrom(config))
            )
          )
          return yield* use(Context.get(services, SqlClient.SqlClient))
        })
      ).pipe(Effect.provide(Logger.layer([capture])))
    )
    const elapsedMs = Date.now() - started
    const message = Exit.isFailure(exit) ? failureMessage(Cause.squash(exit.cause)) : ""
    return { exit, message, elapsedMs, warnings }
  })

const failureMessage = (failure: unknown): string => (failure instanceof Error ? failure.message : String(failure))

/** Whether this session's connection is encrypted, as the server sees it. */
export const sessionUsesTls = (sql: SqlClient.SqlClient) =>
  Effect.map(
    sql<{ readonly ssl: boolean }>`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`,
    (rows) => rows[0]!.ssl
  )
