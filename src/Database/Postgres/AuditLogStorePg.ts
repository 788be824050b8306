import {
  Array as Arr,
  Cause,
  Context,
  DateTime,
  Deferred,
  Effect,
  Exit,
  Fiber,
  Option,
  Queue,
  Schedule,
  Schema,
  type Scope
} from "effect"
import { type SqlClient, SqlError, SqlSchema } from "effect/sql"
import {
  type AuditAction,
  AuditLog,
  AuditLogId,
  type AuditMetadata,
  type AuditTargetId,
  type UserId
} from "../../Domain/index.ts"
import { isTransientSqlError } from "../Client/SqlFailure.ts"
import { EpochMicroseconds } from "../Front/RepositoryInputs.ts"
import type { AuditLogQuery, AuditLogStore, StoreFailure } from "../Front/RepositoryStore.ts"
import { ReadYourWrites, WrittenPosition } from "../Topology/ReadYourWrites.ts"
import { type AuditPageLayout, branchConditions, makeAuditPageLayouts } from "./AuditPageLayout.ts"
import { AuditLogRow, auditLogFromRow } from "./Rows.ts"

const auditColumns = `id, actor_id, action, target_id, metadata, "timestamp"`

type AuditRow = typeof AuditLog.insert.Type

/** A turn whose commit is unknown (its connection lost) is checked and completed this often, this far apart. */
const AmbiguousRetries = 50
const AmbiguousRetryDelay = "200 millis"

const isTransient = (failure: StoreFailure): failure is SqlError.SqlError =>
  SqlError.isSqlError(failure) && isTransientSqlError(failure)

/** At most this many appends share one statement (the rest wait for the next turn). */
export const MaxAppendsPerTurn = 1_000

/** An append waiting for the group commit: its row, its caller's services, and where its answer goes. */
interface PendingAppend {
  readonly row: AuditRow
  readonly context: Context.Context<never>
  readonly done: Deferred.Deferred<AuditLog, StoreFailure>
}

// Its connections are gone: the driver's own words for that, so the front reports it as DatabaseUnavailable.
const storeClosed = () =>
  new SqlError.SqlError({
    reason: new SqlError.ConnectionError({
      cause: new Error("Connection is closed"),
      message: "the audit log store is closed",
      operation: "append"
    })
  })

/** A row of `audit_logs` as the driver returns it, names untransformed. */
interface StoredRow {
  readonly id: string
  readonly actor_id: string | null
  readonly action: string
  readonly target_id: string | null
  readonly metadata: AuditMetadata
  readonly timestamp: Date
}

// A row just written: its values were checked on the way in, and the database only normalised them (uuid
// case, jsonb), so they are not checked again (walking each row's metadata costs more than its insert).
const storedLog = (row: StoredRow) =>
  new AuditLog(
    {
      id: row.id as AuditLogId,
      actorId: Option.fromNullishOr(row.actor_id as UserId | null),
      action: row.action as AuditAction,
      targetId: Option.fromNullishOr(row.target_id as AuditTargetId | null),
      metadata: row.metadata,
      timestamp: DateTime.fromDateUnsafe(row.timestamp)
    },
    { disableChecks: true }
  )

// The driver cannot type an array of nulls only; an empty one does as well, since unnest pads the shorter
// arrays with NULLs.
const nullable = (values: ReadonlyArray<string | null>) => (values.every((value) => value === null) ? [] : values)

// A failure of the whole statement that another try of each row alone could turn into each row's own answer:
// a SQL error the database gave for the statement's content (a constraint, a bad value), not a lost or busy
// connection.
const isRowLevel = (cause: Cause.Cause<StoreFailure>) =>
  cause.reasons.every(
    (reason) => Cause.isFailReason(reason) && SqlError.isSqlError(reason.error) && !reason.error.isRetryable
  )

/** A page's row as read: the audit row's columns and its exact timestamp's text. */
type PageRow = { readonly id: unknown; readonly timestampUs: unknown }

/** A branch of a partitioned page reads at most this many rows: the page's limit rounded up to a power of two. */
export const branchLimitOf = (limit: number): number => 2 ** Math.ceil(Math.log2(Math.max(limit, 1)))

// A page's rows, each with its key: the exact timestamp and the id.
const decodePageSchema = Schema.decodeUnknownEffect(
  Schema.Array(Schema.Tuple([AuditLog, Schema.Tuple([EpochMicroseconds, AuditLogId])]))
)

// The same, trusted (see Rows.ts): the key's text is `bigint::text` and the id a uuid, both what the cursor
// expects by their type; a row the trusted decoder refuses sends the page through the schema.
const decodePage = (
  rows: ReadonlyArray<{ readonly id: unknown; readonly timestampUs: unknown }>
): Effect.Effect<ReadonlyArray<readonly [AuditLog, readonly [string, AuditLogId]]>, Schema.SchemaError> => {
  const page: Array<readonly [AuditLog, readonly [string, AuditLogId]]> = new Array(rows.length)
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]!
    const log = auditLogFromRow(row)
    if (log === undefined || typeof row.timestampUs !== "string")
      return decodePageSchema(rows.map((row) => [row, [row.timestampUs, row.id]] as const))
    page[index] = [log, [row.timestampUs, log.id]]
  }
  return Effect.succeed(page)
}

/**
 * `audit_logs`: insert and read only (the table refuses UPDATE, DELETE and TRUNCATE). Its group-commit worker
 * lives in the scope: closing it writes the appends already waiting, then refuses new ones.
 */
export const makeAuditLogStorePg = Effect.fnUntraced(function* (
  sql: SqlClient.SqlClient,
  reads: SqlClient.SqlClient = sql
): Effect.fn.Return<AuditLogStore, never, Scope.Scope> {
  const columns = sql.literal(auditColumns)
  // The inserts read their rows by the column names: no pass renaming the fields of every returned row.
  const untransformed = sql.withoutTransforms()

  const findById = SqlSchema.findOneOption({
    Request: AuditLogId,
    Result: AuditLogRow,
    execute: (id) => reads`SELECT ${columns} FROM audit_logs WHERE id = ${id}`
  })

  // Newest first on the (timestamp DESC, id DESC) indexes; each row also carries its exact timestamp for
  // the cursor, decoded next to the AuditLog (which ignores the extra column).
  //
  // After a cursor, the row comparison places the index scan just past the cursor's row (README "Audit
  // partitions", "Pruned reads"). PostgreSQL neither prunes on it nor combines its estimate with another clause
  // on "timestamp": given the cursor's time as a constant, it would estimate the rows before the cursor twice
  // over (their fraction squared, 11 rows for 1,000), and past two partitions a sort of every row before the
  // cursor looked cheaper than merging the partitions' ordered indexes. Its time is read from a one-row
  // subquery instead, which the planner does not look into (it guesses a third of the rows pass): an error of
  // a constant factor, whatever the scale, which keeps the ordered scans cheaper than the sort.
  const filtersOf = (query: AuditLogQuery) => [
    ...(query.after === undefined
      ? []
      : [
          sql`("timestamp", id) < ((SELECT ('epoch'::timestamp + ${query.after[0]}::bigint * interval '1 microsecond') AT TIME ZONE 'UTC'), ${query.after[1]}::uuid)`
        ]),
    ...(query.actorId === undefined ? [] : [sql`actor_id = ${query.actorId}`]),
    ...(query.targetId === undefined ? [] : [sql`target_id = ${query.targetId}`]),
    ...(query.action === undefined ? [] : [sql`action = ${query.action}`]),
    ...(query.from === undefined ? [] : [sql`"timestamp" >= ${DateTime.toDateUtc(query.from)}`]),
    ...(query.to === undefined ? [] : [sql`"timestamp" < ${DateTime.toDateUtc(query.to)}`])
  ]
  const pageColumns = sql.literal(
    `${auditColumns}, (extract(epoch FROM "timestamp") * 1000000)::bigint::text AS timestamp_us`
  )
  // From the primary: bounds need no read-your-writes wait, nor count as a replica read.
  const layouts = yield* makeAuditPageLayouts(sql)

  // Without partitions (or before their bounds are known): one ordered scan. After a cursor, a plain bound on
  // "timestamp" lets PostgreSQL skip the newer partitions while it plans: a constant only when its expression
  // is immutable (timestamp without zone + interval, then AT TIME ZONE; timestamptz + interval is only stable).
  const plainPage = (query: AuditLogQuery) =>
    reads<PageRow>`SELECT ${pageColumns} FROM audit_logs
      WHERE ${sql.and([
        ...filtersOf(query),
        ...(query.after === undefined
          ? []
          : [
              sql`"timestamp" <= ('epoch'::timestamp + ${query.after[0]}::bigint * interval '1 microsecond') AT TIME ZONE 'UTC'`
            ])
      ])}
      ORDER BY "timestamp" DESC, id DESC LIMIT ${query.limit}`

  // Over partitions: the two complementary branches of AuditPageLayout.ts. After a cursor, the run's branch
  // ends with the cursor's partition (a constant, so newer partitions are skipped while planning, in generic
  // plans too). Each branch's LIMIT is a constant as well (the page's rounded up to a power of two, so a few
  // statement texts serve every page size): with a parameter there, PostgreSQL costs a generic plan as if it
  // read a tenth of the table, and plans every execution anew.
  const partitionedPage = (query: AuditLogQuery, layout: AuditPageLayout) => {
    const filters = filtersOf(query)
    const { rest, run } = branchConditions(layout, {
      cursor: query.after === undefined ? undefined : Number(query.after[0]),
      from: query.from === undefined ? undefined : query.from.epochMilliseconds * 1000,
      to: query.to === undefined ? undefined : query.to.epochMilliseconds * 1000
    })
    const branchLimit = sql.literal(String(branchLimitOf(query.limit)))
    return reads<PageRow>`SELECT * FROM ((SELECT ${pageColumns} FROM audit_logs WHERE ${sql.and([sql.literal(run), ...filters])}
          ORDER BY "timestamp" DESC, id DESC LIMIT ${branchLimit})
        UNION ALL
        (SELECT ${pageColumns} FROM audit_logs WHERE ${sql.and([sql.literal(rest), ...filters])}
          ORDER BY "timestamp" DESC, id DESC LIMIT ${branchLimit})) AS page
      ORDER BY "timestamp" DESC, id DESC LIMIT ${query.limit}`
  }

  const list: AuditLogStore["list"] = (query) =>
    Effect.flatMap(layouts, (layout) =>
      Effect.flatMap(layout === undefined ? plainPage(query) : partitionedPage(query, layout), decodePage)
    )

  // Five array parameters whatever the row count: no bind limit, so one statement (all or nothing without a
  // transaction of its own), and one prepared statement for every batch size.
  const insertAll = (rows: Arr.NonEmptyReadonlyArray<AuditRow>): Effect.Effect<Array<AuditLog>, StoreFailure> => {
    const ids: Array<string> = []
    const actorIds: Array<string | null> = []
    const actions: Array<string> = []
    const targetIds: Array<string | null> = []
    const metadata: Array<string> = []
    for (const row of rows) {
      ids.push(row.id)
      actorIds.push(Option.getOrNull(row.actorId))
      actions.push(row.action)
      targetIds.push(Option.getOrNull(row.targetId))
      metadata.push(JSON.stringify(row.metadata))
    }
    return Effect.map(
      untransformed<StoredRow>`INSERT INTO audit_logs (id, actor_id, action, target_id, metadata)
        SELECT * FROM unnest(${ids}::uuid[], ${nullable(actorIds)}::uuid[], ${actions}::text[], ${nullable(targetIds)}::text[], ${metadata}::jsonb[])
        RETURNING ${columns}`,
      // RETURNING order is not guaranteed by SQL: answer in the order of the rows.
      (stored) => {
        const byId = new Map(stored.map((row) => [row.id, row]))
        return rows.map((row) => storedLog(byId.get(row.id)!))
      }
    )
  }

  // The rows of `rows` stored already (their ids are made here, so an id found is this append), the others
  // inserted now; tried again while the failure is one that passes (a failover), at most `AmbiguousRetries`.
  const insertMissing = (
    rows: Arr.NonEmptyReadonlyArray<AuditRow>,
    first: StoreFailure
  ): Effect.Effect<Array<AuditLog>, StoreFailure> =>
    Effect.gen(function* () {
      const found = yield* untransformed<StoredRow>`SELECT ${columns} FROM audit_logs
        WHERE id = ANY(${rows.map((row) => row.id)}::uuid[])`
      const stored = new Map(found.map((row) => [row.id, storedLog(row)]))
      const missing = rows.filter((row) => !stored.has(row.id))
      if (Arr.isReadonlyArrayNonEmpty(missing)) {
        for (const log of yield* insertAll(missing)) stored.set(log.id, log)
      }
      return rows.map((row) => stored.get(row.id)!)
    }).pipe(
      Effect.retry({ while: isTransient, schedule: Schedule.spaced(AmbiguousRetryDelay), times: AmbiguousRetries }),
      Effect.catchIf(isTransient, () => Effect.fail(first))
    )

  // Group commit: appends made outside a transaction wait in `queue`, and one fiber writes all those waiting
  // in one statement per turn (no timer). Success means committed. A lone append skips it (see `append`).
  const queue = yield* Queue.unbounded<PendingAppend, Cause.Done>()
  let turn: ReadonlyArray<PendingAppend> = []

  // The statement runs with the first caller's services (its span, its statement hooks), as `SqlResolver` does,
  // but records its commit's WAL position in a position of the turn's own, handed to every caller's.
  const writeTurn = (pending: Arr.NonEmptyReadonlyArray<PendingAppend>) =>
    Effect.gen(function* () {
      const rows = Arr.map(pending, ({ row }) => row)
      const written = new WrittenPosition()
      const exit = yield* Effect.exit(
        Effect.provideContext(
          // A lost connection leaves the commit unknown: the same rows again, those already stored found by id.
          insertAll(rows).pipe(
            Effect.catchIf(isTransient, (first) => insertMissing(rows, first)),
            Effect.provideService(ReadYourWrites, written)
          ),
          pending[0].context
        )
      )
      if (Exit.isSuccess(exit)) {
        // Each caller's later replica reads wait for this commit (read-your-writes), not only the first's.
        const position = written.position
        if (position !== undefined)
          for (const { context } of pending) Context.get(context, ReadYourWrites).advance(position)
        for (const [index, log] of exit.value.entries()) Deferred.doneUnsafe(pending[index]!.done, Exit.succeed(log))
      } else if (pending.length > 1 && isRowLevel(exit.cause)) {
        // One row's content failed the statement: each row alone, so each caller gets its own row or error.
        for (const { row, context, done } of pending) {
          const own = yield* Effect.exit(Effect.provideContext(insertAll([row]), context))
          Deferred.doneUnsafe(
            done,
            Exit.map(own, (logs) => logs[0]!)
          )
        }
      } else {
        for (const { done } of pending) Deferred.doneUnsafe(done, exit as Exit.Exit<never, StoreFailure>)
      }
    })

  const worker = yield* Effect.gen(function* () {
    while (true) {
      const taken = yield* Effect.exit(Queue.takeBetween(queue, 1, MaxAppendsPerTurn))
      if (Exit.isFailure(taken)) return // ended and drained
      turn = taken.value
      if (Arr.isReadonlyArrayNonEmpty(turn)) yield* writeTurn(turn)
      turn = []
    }
  }).pipe(
    // However the worker ends (interrupted with the scope included), no caller is left waiting.
    Effect.onExit(() =>
      Effect.gen(function* () {
        yield* Queue.end(queue) // refuses new appends from here on
        const left = yield* Effect.exit(Queue.clear(queue))
        for (const { done } of [...turn, ...(Exit.isSuccess(left) ? left.value : [])]) {
          Deferred.doneUnsafe(done, Exit.fail(storeClosed()))
        }
        turn = []
        yield* Queue.shutdown(queue)
      })
    ),
    Effect.forkScoped
  )
  // A lone append (nothing queued, no turn and no other lone append being written) is written by its caller's
  // own fiber, as one statement: no hand-off to the worker and back. Appends that arrive meanwhile queue, so
  // under concurrency they still share the worker's statements.
  let closing = false
  let alone = 0
  let aloneDone: Deferred.Deferred<void> | undefined
  const writtenAlone = (row: AuditRow): Effect.Effect<AuditLog, StoreFailure> => {
    // Counted only once it runs: interrupted before that, the exit hook must not count it down.
    let counted = false
    const rows: Arr.NonEmptyReadonlyArray<AuditRow> = [row]
    return Effect.onExit(
      Effect.suspend(() => {
        counted = true
        alone++
        return Effect.map(
          Effect.catchIf(insertAll(rows), isTransient, (first) => insertMissing(rows, first)),
          (logs) => logs[0]!
        )
      }),
      () => {
        if (counted && --alone === 0 && aloneDone !== undefined) Deferred.doneUnsafe(aloneDone, Exit.void)
        return Effect.void
      }
    )
  }

  // Runs before the scope interrupts the worker: no new appends, and those waiting (or being written alone)
  // are written first.
  yield* Effect.addFinalizer(() =>
    Effect.suspend(() => {
      closing = true
      if (alone > 0) aloneDone = Deferred.makeUnsafe<void>()
      const lone = aloneDone === undefined ? Effect.void : Deferred.await(aloneDone)
      return Effect.asVoid(Effect.andThen(Queue.end(queue), Effect.andThen(Fiber.await(worker), lone)))
    })
  )

  const append = (row: AuditRow): Effect.Effect<AuditLog, StoreFailure> =>
    Effect.suspend(() => {
      if (closing) return Effect.fail(storeClosed())
      if (alone === 0 && turn.length === 0 && Queue.sizeUnsafe(queue) === 0) return writtenAlone(row)
      return Effect.flatMap(Effect.context<never>(), (context) => {
        const done = Deferred.makeUnsafe<AuditLog, StoreFailure>()
        // An append interrupted once queued may still be written (and committed): its caller just stops waiting.
        return Queue.offerUnsafe(queue, { row, context, done }) ? Deferred.await(done) : Effect.fail(storeClosed())
      })
    })

  return {
    // Inside a transaction the rows go to its connection, in its statement order; a lone row outside any
    // joins the group commit.
    insert: (rows) =>
      Effect.flatMap(Effect.serviceOption(sql.transactionService), (transaction) =>
        rows.length === 1 && Option.isNone(transaction) ? Effect.map(append(rows[0]), (log) => [log]) : insertAll(rows)
      ),
    findById,
    list
  }
})
