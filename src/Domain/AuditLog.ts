import { Effect, Schema } from "effect"
import { Model } from "effect/schema"
import { AuditAction } from "./AuditAction.ts"
import { AuditMetadata } from "./AuditMetadata.ts"
import { AuditTargetId } from "./AuditTargetId.ts"
import { AuditLogId, UserId } from "./Ids.ts"
import { DbTimestamp } from "./Timestamp.ts"

const emptyMetadata = Effect.succeed({})

// The driver returns jsonb already parsed but cannot bind an object, so writes go out as JSON text.
const MetadataField = Model.Field({
  select: AuditMetadata,
  insert: Schema.fromJsonString(AuditMetadata).pipe(Schema.withConstructorDefault(emptyMetadata)),
  update: Schema.fromJsonString(AuditMetadata),
  json: AuditMetadata,
  jsonCreate: AuditMetadata.pipe(
    Schema.withDecodingDefaultKey(emptyMetadata),
    Schema.withConstructorDefault(emptyMetadata)
  )
})

/**
 * A row of `audit_logs`. `actorId` is `None` for actions of the system; `targetId` is `None` when the action
 * has no single target. The database stamps `timestamp`.
 */
export class AuditLog extends Model.Class<AuditLog>("AuditLog")({
  id: Model.UuidV7Insert(AuditLogId),
  actorId: Model.FieldOption(UserId),
  action: AuditAction,
  targetId: Model.FieldOption(AuditTargetId),
  metadata: MetadataField,
  timestamp: DbTimestamp
}) {}
