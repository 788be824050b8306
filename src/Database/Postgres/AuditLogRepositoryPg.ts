import { Array as Arr, DateTime, Effect, Option, Schema } from "effect"
import { SqlClient, SqlSchema } from "effect/sql"
import {
  AuditAction,
  AuditLog,
  AuditLogId,
  AuditTargetId,
  CurrentActor,
  newAuditLogId,
  pageFromRows,
  UserId
} from "../../Domain/index.ts"
import { DatabaseMigrations } from "../Migrations/DatabaseMigrations.ts"
import type { AppendAuditLog, AuditLogRepository, ListAuditLogs } from "../Repositories/AuditLogRepository.ts"
import {
  type AuditEntry,
  auditCursor,
  auditLogNotFound,
  decodeAuditEntries,
  decodeAuditEntry,
  decodeListAuditLogs,
  EpochMicroseconds,
  validAuditLogId
} from "../Repositories/RepositoryInputs.ts"
import { mapSqlErrors } from "./SqlErrors.ts"

const auditColumns = `id, actor_id, action, target_id, metadata, "timestamp"`

// The driver refuses statements with more than 32,767 bind parameters; an audit row binds 5.
const MaxBindParameters = 32_767
const rowsPerInsert = Math.floor(MaxBindParameters / 5)

export const makeAuditLogRepositoryPg: Effect.Effect<
  AuditLogRepository["Service"],
  never,
  SqlClient.SqlClient | DatabaseMigrations
> = Effect.gen(function* () {
  yield* DatabaseMigrations
  const sql = yield* SqlClient.SqlClient
  const columns = sql.literal(auditColumns)

  const insertRows = SqlSchema.findAll({
    Request: Schema.NonEmptyArray(AuditLog.insert),
    Result: AuditLog,
    execute: (rows) => sql`INSERT INTO audit_logs ${sql.insert(rows)} RETURNING ${columns}`
  })

  const selectById = SqlSchema.findOneOption({
    Request: AuditLogId,
    Result: AuditLog,
    execute: (id) => sql`SELECT ${columns} FROM audit_logs WHERE id = ${id}`
  })

  const PageQuery = Schema.Struct({
    after: Schema.NullOr(Schema.Tuple([EpochMicroseconds, AuditLogId])),
    actorId: Schema.NullOr(UserId),
    targetId: Schema.NullOr(AuditTargetId),
    action: Schema.NullOr(AuditAction),
    from: Schema.NullOr(Schema.Date),
    to: Schema.NullOr(Schema.Date),
    limit: Schema.Int
  })

  // Newest first on the (timestamp DESC, id DESC) indexes; each row also carries its exact timestamp for
  // the cursor, decoded next to the AuditLog (which ignores the extra column).
  const selectPage = SqlSchema.findAll({
    Request: PageQuery,
    Result: Schema.Tuple([AuditLog, EpochMicroseconds]),
    execute: (query) =>
      sql<{ readonly timestampUs: unknown }>`SELECT ${columns},
          (extract(epoch FROM "timestamp") * 1000000)::bigint::text AS timestamp_us
        FROM audit_logs
        WHERE ${sql.and([
          ...(query.after === null
            ? []
            : [
                sql`("timestamp", id) < ('epoch'::timestamptz + ${query.after[0]}::bigint * interval '1 microsecond', ${query.after[1]}::uuid)`
              ]),
          ...(query.actorId === null ? [] : [sql`actor_id = ${query.actorId}`]),
          ...(query.targetId === null ? [] : [sql`target_id = ${query.targetId}`]),
          ...(query.action === null ? [] : [sql`action = ${query.action}`]),
          ...(query.from === null ? [] : [sql`"timestamp" >= ${query.from}`]),
          ...(query.to === null ? [] : [sql`"timestamp" < ${query.to}`])
        ])}
        ORDER BY "timestamp" DESC, id DESC LIMIT ${query.limit + 1}`.pipe(
        Effect.map((rows) => rows.map((row) => [row, row.timestampUs] as const))
      )
  })

  // Validated entries become insert rows; the actor defaults to the calling fiber's CurrentActor.
  const toRow = Effect.fnUntraced(function* (entry: typeof AuditEntry.Type) {
    const actorId = entry.actorId === undefined ? yield* CurrentActor : Option.fromNullishOr(entry.actorId)
    return AuditLog.insert.make({
      id: yield* newAuditLogId,
      actorId,
      action: entry.action,
      targetId: Option.fromUndefinedOr(entry.targetId),
      metadata: entry.metadata ?? {}
    })
  })

  // One multi-row INSERT; above the bind limit, several inside one transaction, so still all or nothing.
  const insertAll = (rows: Arr.NonEmptyReadonlyArray<typeof AuditLog.insert.Type>) => {
    if (rows.length <= rowsPerInsert) return insertRows(rows)
    const chunks = Arr.chunksOf(rows, rowsPerInsert)
    return sql.withTransaction(Effect.map(Effect.forEach(chunks, insertRows), Arr.flatten))
  }

  // RETURNING order is not guaranteed by SQL: answer in the order of the entries.
  const inEntryOrder = (rows: ReadonlyArray<{ readonly id: AuditLogId }>, logs: ReadonlyArray<AuditLog>) => {
    const byId = new Map(logs.map((log) => [log.id, log]))
    return rows.map((row) => byId.get(row.id)!)
  }

  const append = Effect.fn("AuditLogRepository.append")(function* (entry: AppendAuditLog) {
    const row = yield* toRow(yield* decodeAuditEntry(entry))
    const [log] = yield* insertRows([row]).pipe(mapSqlErrors("AuditLogRepository.append"))
    return log!
  })

  const appendMany = Effect.fn("AuditLogRepository.appendMany")(function* (entries: ReadonlyArray<AppendAuditLog>) {
    const valid = yield* decodeAuditEntries({ entries })
    const rows = yield* Effect.forEach(valid.entries, toRow)
    if (!Arr.isReadonlyArrayNonEmpty(rows)) return []
    const logs = yield* insertAll(rows).pipe(mapSqlErrors("AuditLogRepository.appendMany"))
    return inEntryOrder(rows, logs)
  })

  const findById = Effect.fn("AuditLogRepository.findById")(function* (id: AuditLogId) {
    const logId = validAuditLogId(id)
    if (Option.isNone(logId)) return yield* auditLogNotFound(id)
    const log = yield* selectById(logId.value).pipe(mapSqlErrors("AuditLogRepository.findById"))
    if (Option.isNone(log)) return yield* auditLogNotFound(logId.value)
    return log.value
  })

  const list = Effect.fn("AuditLogRepository.list")(function* (filter?: ListAuditLogs) {
    const request = yield* decodeListAuditLogs(filter ?? {})
    const after = request.cursor === undefined ? null : yield* auditCursor.decode(request.cursor)
    const rows = yield* selectPage({
      after,
      actorId: request.actorId ?? null,
      targetId: request.targetId ?? null,
      action: request.action ?? null,
      from: request.from === undefined ? null : DateTime.toDateUtc(request.from),
      to: request.to === undefined ? null : DateTime.toDateUtc(request.to),
      limit: request.limit
    }).pipe(mapSqlErrors("AuditLogRepository.list"))
    const page = pageFromRows(rows, request.limit, ([log, us]) => [us, log.id] as const, auditCursor)
    return { items: page.items.map(([log]) => log), nextCursor: page.nextCursor }
  })

  return { append, appendMany, findById, list }
})
