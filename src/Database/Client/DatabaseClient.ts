import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, type Layer, Redacted, Ref, Schedule, String as Str } from "effect"
import type { SqlClient, SqlError } from "effect/sql"
import { AppConfig } from "../../Config/AppConfig.ts"
import type { DatabaseConfigValues } from "../../Config/ConfigSchema.ts"
import * as BoundedPgClient from "./BoundedPgClient.ts"
import { rememberNames } from "./ColumnNames.ts"
import { DatabaseStartupError } from "./DatabaseErrors.ts"
import { DatabaseTarget } from "./DatabaseTarget.ts"
import { describeSqlError, isTransientSqlError } from "./SqlFailure.ts"

const MAX_RETRY_DELAY = Duration.seconds(2)

// Converted once per distinct name: every row of every result would otherwise convert each column name again.
const snakeToCamel = rememberNames(Str.snakeToCamel)
const camelToSnake = rememberNames(Str.camelToSnake)

/**
 * The driver options and the bounds `database` gives a client of `target`. Behind PgBouncer
 * (`database.pgbouncer`) nothing is sent at startup and nothing is prepared, and the statement timeout becomes
 * the client's deadline: a statement still running then is interrupted, which cancels it on the server.
 */
export const clientSettings = (
  database: DatabaseConfigValues,
  target: DatabaseTarget["Service"]
): { readonly options: PgClient.PgPoolConfig; readonly bounds: BoundedPgClient.Bounds } => {
  const statementTimeoutMs = Duration.toMillis(database.statementTimeout)
  // Behind PgBouncer the server has no statement timeout of ours: the client's deadline is the nearer of the two.
  const clientEnforced =
    database.pgbouncer &&
    statementTimeoutMs > 0 &&
    Duration.isLessThan(database.statementTimeout, database.queryTimeout)
  return {
    options: {
      ...target.connection,
      applicationName: database.applicationName,
      connectTimeout: database.connectTimeout,
      keepAlive: database.keepAlive,
      prepare: database.prepare && !database.pgbouncer,
      maxConnections: database.pool.maxConnections,
      minConnections: database.pool.minConnections,
      connectionTTL: database.pool.connectionLifetime,
      idleTimeout: database.pool.idleTimeout,
      ...(statementTimeoutMs > 0 && !database.pgbouncer
        ? { startupParameters: { statement_timeout: String(statementTimeoutMs) } }
        : {}),
      transformResultNames: snakeToCamel,
      transformQueryNames: camelToSnake,
      // jsonb documents (audit metadata) keep the keys their authors chose.
      transformJson: false,
      // The server as resolved (a URL's too), never its credentials.
      spanAttributes: { "db.namespace": target.database, "server.address": target.host, "server.port": target.port }
    },
    bounds: {
      acquireTimeout: database.pool.acquireTimeout,
      acquireTimeoutSetting: "database.pool.acquireTimeout",
      statementDeadline: clientEnforced ? database.statementTimeout : database.queryTimeout,
      statementDeadlineSetting: clientEnforced
        ? "database.statementTimeout (enforced by the client under database.pgbouncer)"
        : "database.queryTimeout",
      hostChoice: target.resolver
    }
  }
}

/**
 * Opens the pool, then proves the server answers: the driver opens connections lazily and builds even when
 * the server is down, so without this check startup would "succeed" and the first query would fail.
 * `observed`: the pool's figures are published as gauges named by `database.applicationName`.
 */
export const make = Effect.fnUntraced(function* (options: {
  readonly awaitServer: boolean
  readonly observed?: boolean | undefined
}) {
  const config = yield* AppConfig
  const target = yield* DatabaseTarget
  const database = config.database
  if (database.pgbouncer && database.prepare) {
    return yield* startupError(
      target,
      "database.prepare must be false with database.pgbouncer (PgBouncer in transaction mode cannot keep named prepared statements)"
    )
  }
  const settings = clientSettings(database, target)
  // Reads may go to replicas: each write's commit position is kept for the writer's reads (ReadYourWrites).
  const trackWrites =
    database.readFrom === "replicas" && (Redacted.value(database.replicas.url) !== "" || database.replicas.host !== "")
  const bounds = {
    ...settings.bounds,
    trackWrites,
    ...(options.observed === true ? { poolName: database.applicationName } : {})
  }
  const client = yield* BoundedPgClient.make(settings.options, bounds).pipe(
    Effect.mapError((error) => startupError(target, describeStartupFailure(error)))
  )

  if (!options.awaitServer) return client
  const lastFailure = yield* Ref.make("no answer yet")
  // The first statement is the pooler check: it runs before anything is prepared, so a refused startup leaves
  // no named statement on a pooler's server connection for another client to trip over.
  const identity = yield* sessionIdentity(client).pipe(
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
    Effect.mapError((error) => startupError(target, describeStartupFailure(error))),
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
  yield* ensureNoUndeclaredPooler(identity, database, target)
  yield* ensureStatementTimeoutApplied(client, database, target)
  yield* Effect.logInfo("database connected").pipe(
    Effect.annotateLogs({ host: target.host, port: target.port, database: target.database })
  )
  return client
})

const startupError = (target: DatabaseTarget["Service"], reason: string) =>
  new DatabaseStartupError({ host: target.host, port: target.port, database: target.database, reason })

const PGBOUNCER_HINT = "behind PgBouncer in transaction mode, set database.pgbouncer: true (DATABASE_PGBOUNCER=true)"

/** The server's words, with the setting to change when they are PgBouncer refusing what we sent at startup. */
const describeStartupFailure = (error: SqlError.SqlError): string => {
  const text = describeSqlError(error)
  return /unsupported startup parameter/i.test(text) ? `${text}; ${PGBOUNCER_HINT}` : text
}

/** The process id one session was given at connection (BackendKeyData) and the one its statements run in. */
interface SessionIdentity {
  readonly announced: number | undefined
  readonly actual: number
}

/** Both process ids of one reserved session: on one session, so the pool cannot mix two backends' answers. */
const sessionIdentity = (client: SqlClient.SqlClient): Effect.Effect<SessionIdentity, SqlError.SqlError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const connection = yield* client.reserve
      const rows = yield* connection.executeUnprepared("SELECT pg_backend_pid() AS pid", [], undefined)
      return { announced: BoundedPgClient.sessionOf(connection)?.processId, actual: Number(rows[0]?.pid) }
    })
  )

/**
 * A pooler between the client and the server answers the connection itself, with a process id of its own
 * (PgBouncer makes one up), while statements run in one of its server sessions: the two differ. Without
 * `database.pgbouncer` the client would prepare statements and keep session state that a transaction pooler
 * loses between transactions, and wedge its server sessions (`prepared statement "…" does not exist`, "idle in
 * transaction (aborted)"); stop at startup, in one line, instead. Whatever the other settings: a pooler that
 * accepts or ignores every startup parameter is caught too.
 */
const ensureNoUndeclaredPooler = (
  identity: SessionIdentity,
  database: DatabaseConfigValues,
  target: DatabaseTarget["Service"]
): Effect.Effect<void, DatabaseStartupError> =>
  database.pgbouncer || identity.announced === undefined || identity.announced === identity.actual
    ? Effect.void
    : Effect.fail(
        startupError(
          target,
          `a connection pooler stands between the client and the server (the session runs in server process ${identity.actual}, but process ${identity.announced} was announced at connection); ${PGBOUNCER_HINT}`
        )
      )

/**
 * The statement timeout sent at startup must be the one the session has. A pooler that ignores startup
 * parameters (PgBouncer's ignore_startup_parameters) would otherwise silently drop it: fail at startup, in
 * one line, instead.
 */
const ensureStatementTimeoutApplied = (
  sql: SqlClient.SqlClient,
  database: DatabaseConfigValues,
  target: DatabaseTarget["Service"]
) =>
  Effect.gen(function* () {
    const expectedMs = Duration.toMillis(database.statementTimeout)
    if (database.pgbouncer || expectedMs === 0) return
    const rows = yield* sql<{ readonly ms: string }>`
      SELECT (extract(epoch FROM current_setting('statement_timeout')::interval) * 1000)::bigint::text AS ms`.pipe(
      Effect.mapError((error) => startupError(target, describeStartupFailure(error)))
    )
    const actualMs = Number(rows[0]?.ms)
    if (actualMs !== expectedMs) {
      return yield* startupError(
        target,
        `the session's statement_timeout is ${actualMs} ms, not the ${expectedMs} ms sent at connection (database.statementTimeout): a pooler dropped the startup parameter; ${PGBOUNCER_HINT}`
      )
    }
  })

/**
 * `PgClient` and `SqlClient` for the `DatabaseTarget`, configured from `AppConfig`: built once the server
 * answers (retrying until `database.startup.timeout`), closed when the layer's scope closes. Its pool's
 * figures are the `db.client.connection.*` gauges while it is open.
 */
export const layer: Layer.Layer<
  PgClient.PgClient | SqlClient.SqlClient,
  DatabaseStartupError,
  AppConfig | DatabaseTarget
> = PgClient.layerFrom(make({ awaitServer: true, observed: true }))

/** The same client without waiting for the server: for checks that must report "down" rather than wait. */
export const layerNoWait: Layer.Layer<
  PgClient.PgClient | SqlClient.SqlClient,
  DatabaseStartupError,
  AppConfig | DatabaseTarget
> = PgClient.layerFrom(make({ awaitServer: false, observed: true }))
