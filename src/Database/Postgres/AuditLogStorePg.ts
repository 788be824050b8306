import { Array as Arr, DateTime, Effect, Schema } from "effect"
import { type SqlClient, SqlSchema } from "effect/sql"
import { AuditLog, AuditLogId } from "../../Domain/index.ts"
import { EpochMicroseconds } from "../Front/RepositoryInputs.ts"
import type { AuditLogStore } from "../Front/RepositoryStore.ts"
import { AuditLogInsertRows } from "./AuditInsertRows.ts"
import { AuditLogRow, auditLogFromRow } from "./Rows.ts"

const auditColumns = `id, actor_id, action, target_id, metadata, "timestamp"`

// The driver refuses statements with more than 32,767 bind parameters; an audit row binds 5.
const MaxBindParameters = 32_767
const rowsPerInsert = Math.floor(MaxBindParameters / 5)

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

/** `audit_logs`: insert and read only (the table refuses UPDATE, DELETE and TRUNCATE). */
export const makeAuditLogStorePg = (sql: SqlClient.SqlClient): AuditLogStore => {
  const columns = sql.literal(auditColumns)

  const insertRows = SqlSchema.findAll({
    Request: AuditLogInsertRows,
    Result: AuditLogRow,
    execute: (rows) => sql`INSERT INTO audit_logs ${sql.insert(rows)} RETURNING ${columns}`
  })

  const findById = SqlSchema.findOneOption({
    Request: AuditLogId,
    Result: AuditLogRow,
    execute: (id) => sql`SELECT ${columns} FROM audit_logs WHERE id = ${id}`
  })

  // Newest first on the (timestamp DESC, id DESC) indexes; each row also carries its exact timestamp for
  // the cursor, decoded next to the AuditLog (which ignores the extra column).
  const list: AuditLogStore["list"] = (query) =>
    sql<{ readonly id: unknown; readonly timestampUs: unknown }>`SELECT ${columns},
        (extract(epoch FROM "timestamp") * 1000000)::bigint::text AS timestamp_us
      FROM audit_logs
      WHERE ${sql.and([
        ...(query.after === undefined
          ? []
          : [
              sql`("timestamp", id) < ('epoch'::timestamptz + ${query.after[0]}::bigint * interval '1 microsecond', ${query.after[1]}::uuid)`
            ]),
        ...(query.actorId === undefined ? [] : [sql`actor_id = ${query.actorId}`]),
        ...(query.targetId === undefined ? [] : [sql`target_id = ${query.targetId}`]),
        ...(query.action === undefined ? [] : [sql`action = ${query.action}`]),
        ...(query.from === undefined ? [] : [sql`"timestamp" >= ${DateTime.toDateUtc(query.from)}`]),
        ...(query.to === undefined ? [] : [sql`"timestamp" < ${DateTime.toDateUtc(query.to)}`])
      ])}
      ORDER BY "timestamp" DESC, id DESC LIMIT ${query.limit}`.pipe(Effect.flatMap(decodePage))

  // One multi-row INSERT; above the bind limit, several inside one transaction, so still all or nothing.
  const insertAll = (rows: Arr.NonEmptyReadonlyArray<typeof AuditLog.insert.Type>) =>
    rows.length <= rowsPerInsert
      ? insertRows(rows)
      : sql.withTransaction(Effect.map(Effect.forEach(Arr.chunksOf(rows, rowsPerInsert), insertRows), Arr.flatten))

  return {
    // RETURNING order is not guaranteed by SQL: answer in the order of the rows.
    insert: (rows) =>
      Effect.map(insertAll(rows), (logs) => {
        const byId = new Map(logs.map((log) => [log.id, log]))
        return rows.map((row) => byId.get(row.id)!)
      }),
    findById,
    list
  }
}
