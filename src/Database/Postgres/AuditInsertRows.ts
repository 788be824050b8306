import { type Array as Arr, Effect, Option, Schema, SchemaTransformation } from "effect"
import { AuditLog } from "../../Domain/index.ts"

type AuditLogInsert = typeof AuditLog.insert.Type
type AuditLogInsertEncoded = typeof AuditLog.insert.Encoded

const InsertRows = Schema.NonEmptyArray(AuditLog.insert)
const decodeInsertRows = Schema.decodeUnknownEffect(InsertRows)

/**
 * One row of `AuditLog.insert` as the INSERT binds it, the same value (and column order) the schema's encoding
 * gives. Its fields were validated once, when the row was made (from a caller's entry decoded by the input
 * schema, or by `AuditLog.insert.make` for the library's own events), so they are not checked again here: only
 * the metadata is serialised, once, for the jsonb column (the driver cannot bind an object).
 */
export const encodeAuditLogInsert = (row: AuditLogInsert): AuditLogInsertEncoded => ({
  id: row.id,
  actorId: Option.getOrNull(row.actorId),
  action: row.action,
  targetId: Option.getOrNull(row.targetId),
  metadata: JSON.stringify(row.metadata)
})

const isInsertRows = (value: unknown): value is Arr.NonEmptyReadonlyArray<AuditLogInsert> =>
  Array.isArray(value) && value.length > 0

const isEncodedRows = (value: unknown): value is Arr.NonEmptyReadonlyArray<AuditLogInsertEncoded> =>
  Array.isArray(value) && value.length > 0

/**
 * The request schema of an audit INSERT: `Schema.NonEmptyArray(AuditLog.insert)` with the encoding above (the
 * decoding, which no statement uses, is the schema's own).
 */
export const AuditLogInsertRows = Schema.declare(isEncodedRows).pipe(
  Schema.decodeTo(
    Schema.declare(isInsertRows),
    SchemaTransformation.transformEffect({
      decode: (rows) => Effect.mapError(decodeInsertRows(rows), (error) => error.issue),
      encode: (rows) => Effect.succeed(rows.map(encodeAuditLogInsert) as Arr.NonEmptyArray<AuditLogInsertEncoded>)
    })
  )
)
