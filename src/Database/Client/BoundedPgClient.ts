import { PgClient, type PgConnection, PgPool } from "@effect/sql-pg"
import { type Array as Arr, Context, Duration, Effect, type Scope, Stream, Tracer } from "effect"
import type { Reactivity } from "effect/reactivity/Reactivity"
import { SqlClient, type SqlConnection, SqlError, Statement } from "effect/sql"
import { PoolUsage, registerPoolGauges } from "../Telemetry/PoolMetrics.ts"
import { formatWalPosition, ReadYourWrites } from "../Topology/ReadYourWrites.ts"
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
  /**
   * Record each committed write's WAL position in the writer's `ReadYourWrites` (one more statement on the
   * same session after the commit): set on the primary's pool when reads go to replicas.
   */
  readonly trackWrites?: boolean | undefined
  /**
   * This pool's sessions are on replicas: a read waits (up to `timeout`) until its session's server has
   * replayed the reader's `ReadYourWrites` position, else runs on `primary`, as does a read whose replica
   * connection failed; transactions run on `primary` (they join its transactions).
   */
  readonly replicaOf?:
    | {
        readonly primary: SqlClient.SqlClient
        readonly timeout: Duration.Duration
        readonly served?: ReplicaReads | undefined
      }
    | undefined
}

/** How replica reads were served: by a replica, or by the primary (a replica behind or unreachable). */
export interface ReplicaReads {
  replica: number
  primary: number
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
  const tracking = bounds.trackWrites === true
  const connectionOf = (connection: PgConnection.PgConnection) =>
    new BoundedConnection(connection, watching(deadline), tracking ? "transaction" : undefined)
  const borrowed = watching((statement) => statement)
  const borrowedConnection = (connection: PgConnection.PgConnection) =>
    new BoundedConnection(connection, borrowed, tracking ? "autocommit" : undefined)
  const replicaOf = bounds.replicaOf
  // On a replica: the reader's position replayed, or the read goes to the primary (see `Bounds.replicaOf`).
  const onReplica =
    replicaOf === undefined
      ? undefined
      : <A, E, R>(
          connection: PgConnection.PgConnection,
          f: (connection: SqlConnection.Connection) => Effect.Effect<A, E, R>
        ): Effect.Effect<A | typeof BEHIND, E | SqlError.SqlError, R> =>
          Effect.flatMap(
            replayed(connection, replicaOf.timeout),
            (caughtUp): Effect.Effect<A | typeof BEHIND, E, R> =>
              caughtUp ? f(borrowedConnection(connection)) : Effect.succeed(BEHIND)
          )
  const onPrimary = <A, E, R>(f: (connection: SqlConnection.Connection) => Effect.Effect<A, E, R>) =>
    Effect.scoped(Effect.flatMap(replicaOf!.primary.reserve, f))
  const served = replicaOf?.served

  const acquirer =
    replicaOf === undefined
      ? Effect.map(bounded(counted(pool.get)), connectionOf)
      : // A stream from a replica that has not replayed the reader's position runs on the primary.
        Effect.flatMap(bounded(counted(pool.get)), (connection) =>
          Effect.flatMap(
            replayed(connection, replicaOf.timeout),
            (caughtUp): Effect.Effect<SqlConnection.Connection, SqlError.SqlError, Scope.Scope> =>
              caughtUp ? Effect.succeed(connectionOf(connection)) : replicaOf.primary.reserve
          )
        )
  // A statement outside a transaction borrows a connection for itself: one fiber waits for the connection
  // (acquireTimeout), then for the answer (statementDeadline).
  const borrowHere: SqlConnection.Borrower = (f) =>
    withDeadlines(
      (started) =>
        usage === undefined
          ? pool.use((connection) => {
              started()
              return onReplica === undefined ? f(borrowedConnection(connection)) : onReplica(connection, f)
            })
          : usage.borrow((checkedOut) =>
              pool.use((connection) => {
                started()
                checkedOut(connection)
                return onReplica === undefined ? f(borrowedConnection(connection)) : onReplica(connection, f)
              })
            ),
      { wait: acquireLimit, run: statementLimit }
    ) as ReturnType<typeof f>
  const borrower: SqlConnection.Borrower =
    replicaOf === undefined
      ? borrowHere
      : (f) =>
          borrowHere(f).pipe(
            Effect.catchIf(
              (error): error is SqlError.SqlError =>
                SqlError.isSqlError(error) && error.reason._tag === "ConnectionError",
              () => Effect.succeed(BEHIND)
            ),
            Effect.flatMap((result) => {
              if (result !== BEHIND) {
                if (served !== undefined) served.replica++
                return Effect.succeed(result)
              }
              if (served !== undefined) served.primary++
              return onPrimary(f)
            })
          ) as ReturnType<typeof f>
  // Without nested json renaming, the cheaper renaming of ColumnNames does the same.
  const transformRows = options.transformResultNames
    ? options.transformJson === false
      ? renameColumns(options.transformResultNames)
      : Statement.defaultTransforms(options.transformResultNames, options.transformJson).array
    : undefined
  const client = yield* SqlClient.make({
    acquirer,
    borrower,
    // Replicas take no transaction: the primary's client runs them, and statements inside join them.
    transactionAcquirer:
      replicaOf === undefined ? Effect.map(bounded(counted(pool.reserve)), connectionOf) : replicaOf.primary.reserve,
    ...(replicaOf === undefined ? {} : { transactionService: replicaOf.primary.transactionService }),
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

/**
 * The driver's session under a connection of a `BoundedPgClient` (`reserve`, a transaction), for what only the
 * session knows: the process id the server announced at connection (BackendKeyData).
 */
export const sessionOf = (connection: SqlConnection.Connection): PgConnection.PgConnection | undefined =>
  connection instanceof BoundedConnection ? connection.connection : undefined

// The driver's compiler binds this custom fragment as jsonb (see `PgClient.makeCompiler`).
const pgJson = (value: unknown): Statement.Custom<"PgJson", unknown> =>
  Statement.custom<Statement.Custom<"PgJson", unknown>>("PgJson")(value, undefined, undefined)

/**
 * PostgreSQL answers `ROLLBACK` to a `COMMIT` of an aborted transaction: that is a failure, as in the driver.
 * A transaction that wrote, on a tracked pool, records its commit's WAL position once committed.
 */
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
      : connection instanceof BoundedConnection && connection.wrote
        ? connection.recordPosition()
        : Effect.void
  )

const BEHIND: unique symbol = Symbol("platform-kernel/BoundedPgClient/behind")
const REPLAY_POLL_MILLIS = 5

/** Whether `connection`'s server has replayed the reader's written position, waiting up to `timeout` for it. */
const replayed = (connection: PgConnection.PgConnection, timeout: Duration.Duration) =>
  Effect.flatMap(Effect.service(ReadYourWrites), (written): Effect.Effect<boolean, SqlError.SqlError> => {
    const position = written.position
    if (position === undefined) return Effect.succeed(true)
    const needed = formatWalPosition(position)
    const giveUpAt = Date.now() + Duration.toMillis(timeout)
    // A primary (prefer-standby fell back to one) has everything: its replay position is NULL.
    const check: Effect.Effect<boolean, SqlError.SqlError> = Effect.flatMap(
      connection.query("SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, true) AS ok", [needed], false),
      (result) => {
        if ((result.rows[0] as { readonly ok: boolean } | undefined)?.ok === true) return Effect.succeed(true)
        if (Date.now() >= giveUpAt) return Effect.succeed(false)
        return Effect.andThen(Effect.sleep(REPLAY_POLL_MILLIS), check)
      }
    )
    return check
  })

const POSITION_QUERY = "SELECT pg_current_wal_insert_lsn()::text AS lsn"
// Statements that never write WAL of their own; anything else on a tracked session counts as a write.
const READ_ONLY_STATEMENT =
  /^\s*(SELECT|SHOW|VALUES|TABLE|BEGIN|START|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|SET|EXPLAIN)\b/i

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
  /** Writes are tracked: recorded after each statement (`autocommit`) or at the commit (`transaction`). */
  readonly tracking: "autocommit" | "transaction" | undefined
  /** A write ran in this transaction (tracked sessions only). */
  wrote = false

  constructor(
    connection: PgConnection.PgConnection,
    limit: Deadline,
    tracking?: "autocommit" | "transaction" | undefined
  ) {
    this.connection = connection
    this.limit = limit
    this.tracking = tracking
  }

  private deadline<A>(statement: Effect.Effect<A, SqlError.SqlError>): Effect.Effect<A, SqlError.SqlError> {
    return this.limit(statement, this.connection)
  }

  /** The session's WAL insert position, after its write committed, into the writer's `ReadYourWrites`. */
  recordPosition(): Effect.Effect<void, SqlError.SqlError> {
    return Effect.flatMap(this.deadline(this.connection.query(POSITION_QUERY, [], false)), (result) =>
      Effect.map(Effect.service(ReadYourWrites), (written) => {
        const lsn = (result.rows[0] as { readonly lsn?: string } | undefined)?.lsn
        if (lsn !== undefined) written.advance(lsn)
      })
    )
  }

  private tracked<A>(sql: string, statement: Effect.Effect<A, SqlError.SqlError>): Effect.Effect<A, SqlError.SqlError> {
    if (this.tracking === undefined || READ_ONLY_STATEMENT.test(sql)) return statement
    if (this.tracking === "transaction") {
      this.wrote = true
      return statement
    }
    return Effect.tap(statement, () => this.recordPosition())
  }

  private rows(sql: string, params: ReadonlyArray<unknown>, transformRows: RowTransform, prepare: boolean) {
    return this.tracked(
      sql,
      this.deadline(
        withOperation(
          sql,
          Effect.map(this.connection.query(sql, params, prepare), (result) =>
            transformRows === undefined ? result.rows : transformRows(result.rows)
          )
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
    return this.tracked(sql, this.deadline(withOperation(sql, this.connection.query(sql, params))))
  }
  executeValues(sql: string, params: ReadonlyArray<unknown>) {
    return this.tracked(sql, this.deadline(withOperation(sql, this.connection.queryValues(sql, params))))
  }
  executeValuesUnprepared(sql: string, params: ReadonlyArray<unknown>) {
    return this.tracked(sql, this.deadline(withOperation(sql, this.connection.queryValues(sql, params, false))))
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
