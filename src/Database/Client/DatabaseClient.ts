import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, type Layer, Ref, Schedule, String as Str } from "effect"
import type { SqlClient } from "effect/sql"
import { AppConfig } from "../../Config/AppConfig.ts"
import { DatabaseStartupError } from "./DatabaseErrors.ts"
import { DatabaseTarget } from "./DatabaseTarget.ts"
import { describeSqlError, isTransientSqlError } from "./SqlFailure.ts"

const MAX_RETRY_DELAY = Duration.seconds(2)

/**
 * Opens the pool, then proves the server answers: the driver opens connections lazily and builds even when
 * the server is down, so without this check startup would "succeed" and the first query would fail.
 */
export const make = Effect.fnUntraced(function* (options: { readonly awaitServer: boolean }) {
  const config = yield* AppConfig
  const target = yield* DatabaseTarget
  const database = config.database
  const statementTimeoutMs = Duration.toMillis(database.statementTimeout)
  const client = yield* PgClient.make({
    ...target.connection,
    applicationName: database.applicationName,
    connectTimeout: database.connectTimeout,
    prepare: database.prepare,
    maxConnections: database.pool.maxConnections,
    minConnections: database.pool.minConnections,
    connectionTTL: database.pool.connectionLifetime,
    idleTimeout: database.pool.idleTimeout,
    ...(statementTimeoutMs > 0 ? { startupParameters: { statement_timeout: String(statementTimeoutMs) } } : {}),
    transformResultNames: Str.snakeToCamel,
    transformQueryNames: Str.camelToSnake,
    // jsonb documents (audit metadata) keep the keys their authors chose.
    transformJson: false
  }).pipe(Effect.mapError((error) => startupError(target, describeSqlError(error))))

  if (!options.awaitServer) return client
  const lastFailure = yield* Ref.make("no answer yet")
  yield* client`SELECT 1`.pipe(
    Effect.retry({
      schedule: Schedule.exponential("100 millis").pipe(
        Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, MAX_RETRY_DELAY)))
      ),
      // A failure that cannot heal (a bad password, a missing database, a refused TLS demand) ends startup at
      // once; only one that can is remembered for the timeout message and announced as a retry.
      while: (error) =>
        isTransientSqlError(error)
          ? Effect.as(
              Effect.andThen(
                Ref.set(lastFailure, describeSqlError(error)),
                Effect.logWarning("database not reachable yet, retrying").pipe(
                  Effect.annotateLogs({ host: target.host, port: target.port, reason: describeSqlError(error) })
                )
              ),
              true
            )
          : Effect.succeed(false)
    }),
    Effect.mapError((error) => startupError(target, describeSqlError(error))),
    Effect.timeoutOrElse({
      duration: database.startup.timeout,
      orElse: () =>
        Effect.flatMap(Ref.get(lastFailure), (reason) =>
          Effect.fail(
            startupError(
              target,
              `no connection within database.startup.timeout (${Duration.format(database.startup.timeout)}): ${reason}`
            )
          )
        )
    })
  )
  yield* Effect.logInfo("database connected").pipe(
    Effect.annotateLogs({ host: target.host, port: target.port, database: target.database })
  )
  return client
})

const startupError = (target: DatabaseTarget["Service"], reason: string) =>
  new DatabaseStartupError({ host: target.host, port: target.port, database: target.database, reason })

/**
 * `PgClient` and `SqlClient` for the `DatabaseTarget`, configured from `AppConfig`: built once the server
 * answers (retrying until `database.startup.timeout`), closed when the layer's scope closes.
 */
export const layer: Layer.Layer<
  PgClient.PgClient | SqlClient.SqlClient,
  DatabaseStartupError,
  AppConfig | DatabaseTarget
> = PgClient.layerFrom(make({ awaitServer: true }))

/** The same client without waiting for the server: for checks that must report "down" rather than wait. */
export const layerNoWait: Layer.Layer<
  PgClient.PgClient | SqlClient.SqlClient,
  DatabaseStartupError,
  AppConfig | DatabaseTarget
> = PgClient.layerFrom(make({ awaitServer: false }))
