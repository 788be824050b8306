import { PgClient, type PgConnection, PgPool } from "@effect/sql-pg"
import { type Array as Arr, Context, Duration, Effect, type Scope, Stream, Tracer } from "effect"
import type { Reactivity } from "effect/reactivity/Reactivity"
import { SqlClient, type SqlConnection, SqlError, Statement } from "effect/sql"
import { PoolUsage, registerPoolGauges } from "../Telemetry/PoolMetrics.ts"
import { renameColumns } from "./ColumnNames.ts"
import { withDeadlines } from "./Deadline.ts"
import { acquireTimedOut, sqlStateOf, statementTimedOut } from "./SqlFailure.ts"

/** The bounds every call of a `BoundedPgClient` keeps. */
export interface Bounds {
  /** How long a call waits for a connection of the pool, as `database.pool.acquireTimeout`. */
  readonly acquireTimeout: Duration.Duration
  /** The deadline of each statement's answer. */
  readonly statementDeadline: Duration.Duration
  /** The setting that named the deadline, for the error message (e.g. "database.queryTimeout"). */
  readonly statementDeadlineSetting: string
  /** The setting that named the acquire timeout, for the error message. */
  readonly acquireTimeoutSetting: string
  /** Publish the pool's figures as the gauges of this pool name (see `Telemetry/PoolMetrics`); none if absent. */
  readonly poolName?: string | undefined
  /**
   * Told when a statement meets a lost connection or a read-only server (SQLSTATE 25006), so the host of the
   * next connection is chosen again (see `Topology/HostResolver`). A read-only connection is also dropped.
   */
  readonly hostChoice?: { readonly invalidate: () => void } | undefined
}

type RowTransform = (<A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined

/**
 * A `PgClient` over the driver's pool in which no call waits unbounded: a wait for a connection ends after
 * `acquireTimeout`, each statement's answer (transaction control included) after `statementDeadline`, both
 * with a retryable `SqlError` (see `SqlFailure.isTransientSqlError`). The driver has no acquire timeout and
 * its client hides its pool, so the client is assembled here from the same parts `PgClient.make` uses.
 * Waiting callers are served in arrival order: the pool queues its waiters first come, first served.
 */
export const make = Effect.fnUntraced(function* (
  options: PgClient.PgPoolConfig,
  bounds: Bounds
): Effect.fn.Return<PgClient.PgClient, SqlError.SqlError, Scope.Scope | Reactivity> {
  const pool = yield* PgPool.make(options)
  const usage = bounds.poolName === undefined ? undefined : new PoolUsage()
  if (usage !== undefined) {
    yield* registerPoolGauges(usage, { poolName: bounds.poolName!, max: options.maxConnections ?? 10 })
  }
  const counted = <C extends object>(checkout: Effect.Effect<C, SqlError.SqlError, Scope.Scope>) =>
    usage === undefined ? checkout : usage.checkout(checkout)
  const acquireLimit = {
    millis: Duration.toMillis(bounds.acquireTimeout),
    error: () =>
      acquireTimedOut(
        `no connection within ${bounds.acquireTimeoutSetting} (${Duration.format(bounds.acquireTimeout)})`
      )
  }
  const statementLimit = {
    millis: Duration.toMillis(bounds.statementDeadline),
    error: () =>
      statementTimedOut(
        `no answer within ${bounds.statementDeadlineSetting} (${Duration.format(bounds.statementDeadline)})`
      )
  }
  // A checkout that outlives one statement (a transaction, a stream, a listener) is bounded on its own.
  const bounded = <A>(
    checkout: Effect.Effect<A, SqlError.SqlError, Scope.Scope>
  ): Effect.Effect<A, SqlError.SqlError, Scope.Scope> =>
    Effect.timeoutOrElse(checkout, {
      duration: bounds.acquireTimeout,
      orElse: () => Effect.fail(acquireLimit.error())
    })
  const deadline = <A>(statement: Effect.Effect<A, SqlError.SqlError>): Effect.Effect<A, SqlError.SqlError> =>
    withDeadlines(() => statement, { run: statementLimit })
  const hostChoice = bounds.hostChoice
  // A failover shows as a lost connection, or a write refused by a server that became a standby.
  const watched =
    hostChoice === undefined
      ? undefined
      : (connection: PgConnection.PgConnection, error: SqlError.SqlError): Effect.Effect<void> => {
          if (error.reason._tag === "ConnectionError") {
            hostChoice.invalidate()
            return Effect.void
          }
          if (sqlStateOf(error) !== READ_ONLY_SQL_TRANSACTION) return Effect.void
          hostChoice.invalidate()
          return pool.invalidate(connection)
        }
  const watching = (limit: Deadline): Deadline =>
    watched === undefined
      ? limit
      : (statement, connection) =>
          Effect.tapError(limit(statement), (error) =>
            connection === undefined ? Effect.void : watched(connection, error)
          )
  const connectionOf = (connection: PgConnection.PgConnection) => new BoundedConnection(connection, watching(deadline))
  const borrowed = watching((statement) => statement)

  const acquirer = Effect.map(bounded(counted(pool.get)), connectionOf)
  // A statement outside a transaction borrows a connection for itself: one fiber waits for the connection
  // (acquireTimeout), then for the answer (statementDeadline).
  const borrower: SqlConnection.Borrower = (f) =>
    withDeadlines(
      (started) =>
        usage === undefined
          ? pool.use((connection) => {
              started()
              return f(new BoundedConnection(connection, borrowed))
            })
          : usage.borrow((checkedOut) =>
              pool.use((connection) => {
                started()
                checkedOut(connection)
                return f(new BoundedConnection(connection, borrowed))
              })
            ),
      { wait: acquireLimit, run: statementLimit }
    )
  // Without nested json renaming, the cheaper renaming of ColumnNames does the same.
  const transformRows = options.transformResultNames
    ? options.transformJson === false
      ? renameColumns(options.transformResultNames)
      : Statement.defaultTransforms(options.transformResultNames, options.transformJson).array
    : undefined
  const client = yield* SqlClient.make({
    acquirer,
    borrower,
    transactionAcquirer: Effect.map(bounded(counted(pool.reserve)), connectionOf),
    compiler: PgClient.makeCompiler(options.transformQueryNames, options.transformJson),
    driver: "pg",
    prepareTransactionControls: true,
    commit,
    releaseSavepoint: (name) => `RELEASE SAVEPOINT ${name}`,
    // The last of a key wins: the caller's (e.g. the server a URL names) over these defaults.
    spanAttributes: [
      ["db.system.name", "postgresql"],
      // The name older OpenTelemetry conventions (and many backends) still read.
      ["db.system", "postgresql"],
      ["db.namespace", options.database ?? options.username ?? "postgres"],
      ["server.address", options.host ?? "localhost"],
      ["server.port", options.port ?? 5432],
      ...(options.spanAttributes ? Object.entries(options.spanAttributes) : [])
    ],
    transformRows
  })
  const pgClient: PgClient.PgClient = Object.assign(client, {
    [PgClient.TypeId]: PgClient.TypeId,
    config: options,
    json: (value: unknown) => Statement.fragment([pgJson(value)]),
    listen: (channel: string) =>
      Effect.flatMap(bounded(counted(pool.reserve)), (connection) => connection.listen(channel)),
    notify: (channel: string, payload: string) =>
      Effect.scoped(
        Effect.flatMap(acquirer, (connection) =>
          Effect.asVoid(connection.executeRaw("SELECT pg_notify($1, $2)", [channel, payload]))
        )
      )
  })
  return pgClient
})

// The driver's compiler binds this custom fragment as jsonb (see `PgClient.makeCompiler`).
const pgJson = (value: unknown): Statement.Custom<"PgJson", unknown> =>
  Statement.custom<Statement.Custom<"PgJson", unknown>>("PgJson")(value, undefined, undefined)

/** PostgreSQL answers `ROLLBACK` to a `COMMIT` of an aborted transaction: that is a failure, as in the driver. */
const commit = (connection: SqlConnection.Connection): Effect.Effect<void, SqlError.SqlError> =>
  Effect.flatMap(connection.executeRaw("COMMIT", []), (result) =>
    (result as PgConnection.Result).command === "ROLLBACK"
      ? Effect.fail(
          new SqlError.SqlError({
            reason: new SqlError.UnknownError({
              cause: new Error("COMMIT rolled back an aborted transaction"),
              message: "PgClient: COMMIT rolled back an aborted transaction",
              operation: "commit"
            })
          })
        )
      : Effect.void
  )

const READ_ONLY_SQL_TRANSACTION = "25006"

/** A bound on one statement's answer; `connection` is the session it runs on, for what watches failures. */
type Deadline = <A>(
  statement: Effect.Effect<A, SqlError.SqlError>,
  connection?: PgConnection.PgConnection
) => Effect.Effect<A, SqlError.SqlError>

/** A pooled session as `SqlClient` sees it, every statement under `deadline`. Streams are not bounded. */
class BoundedConnection implements SqlConnection.Connection {
  readonly connection: PgConnection.PgConnection
  readonly limit: Deadline

  constructor(connection: PgConnection.PgConnection, limit: Deadline) {
    this.connection = connection
    this.limit = limit
  }

  private deadline<A>(statement: Effect.Effect<A, SqlError.SqlError>): Effect.Effect<A, SqlError.SqlError> {
    return this.limit(statement, this.connection)
  }

  private rows(sql: string, params: ReadonlyArray<unknown>, transformRows: RowTransform, prepare: boolean) {
    return this.deadline(
      withOperation(
        sql,
        Effect.map(this.connection.query(sql, params, prepare), (result) =>
          transformRows === undefined ? result.rows : transformRows(result.rows)
        )
      )
    )
  }

  execute(sql: string, params: ReadonlyArray<unknown>, transformRows: RowTransform) {
    return this.rows(sql, params, transformRows, true)
  }
  executeUnprepared(sql: string, params: ReadonlyArray<unknown>, transformRows: RowTransform) {
    return this.rows(sql, params, transformRows, false)
  }
  executeRaw(sql: string, params: ReadonlyArray<unknown>) {
    return this.deadline(withOperation(sql, this.connection.query(sql, params)))
  }
  executeValues(sql: string, params: ReadonlyArray<unknown>) {
    return this.deadline(withOperation(sql, this.connection.queryValues(sql, params)))
  }
  executeValuesUnprepared(sql: string, params: ReadonlyArray<unknown>) {
    return this.deadline(withOperation(sql, this.connection.queryValues(sql, params, false)))
  }
  executeStream(sql: string, params: ReadonlyArray<unknown>, transformRows: RowTransform) {
    const stream = this.connection.stream(sql, params)
    return transformRows === undefined
      ? stream
      : Stream.mapArray(stream, (rows) => transformRows(rows) as Arr.NonEmptyReadonlyArray<PgConnection.Row>)
  }
}

const FIRST_WORD = /^\s*([A-Za-z]+)/

/**
 * Names the statement's operation (`db.operation`, `db.operation.name`: SELECT, INSERT, ...) on the span of
 * the statement being run, which `SqlClient` makes the parent of its execution when tracing is on (its span
 * has `db.query.text`, the parametrised text, but no operation). Costs a context lookup when tracing is off.
 */
const withOperation = <A, E>(sql: string, statement: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.withFiber((fiber) => {
    const span = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
    if (span !== undefined && span._tag === "Span" && span.sampled && span.kind === "client") {
      const operation = FIRST_WORD.exec(sql)?.[1]?.toUpperCase()
      if (operation !== undefined) {
        span.attribute("db.operation", operation)
        span.attribute("db.operation.name", operation)
      }
    }
    return statement
  })
