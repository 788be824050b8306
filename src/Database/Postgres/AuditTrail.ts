import { Effect, Option, type Schema } from "effect"
import { SqlClient } from "effect/sql"
import { AuditAction, CurrentActor, newAuditLogId } from "../../Domain/index.ts"

/** The actions the repositories record for security-relevant changes. */
export const AuditActions = {
  userCreated: AuditAction.make("user.created"),
  userDeleted: AuditAction.make("user.deleted"),
  userRoleAssigned: AuditAction.make("user.role_assigned"),
  userRoleRemoved: AuditAction.make("user.role_removed"),
  rolePermissionGranted: AuditAction.make("role.permission_granted"),
  rolePermissionRevoked: AuditAction.make("role.permission_revoked"),
  roleDeleted: AuditAction.make("role.deleted"),
  permissionDeleted: AuditAction.make("permission.deleted")
} as const

/** What a change records. Metadata is built by the repositories from ids and names: never a secret. */
export interface AuditEvent {
  readonly action: AuditAction
  /** The id of the affected entity. */
  readonly targetId: string
  readonly metadata: Schema.JsonObject
}

/** Audit writing shared by the repositories: the record goes in the same transaction as the change. */
export const makeAuditTrail = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  // The actor is read from the calling fiber; none means the system (NULL).
  const record = Effect.fnUntraced(function* (event: AuditEvent) {
    const actor = yield* CurrentActor
    const id = yield* newAuditLogId
    yield* sql`INSERT INTO audit_logs (id, actor_id, action, target_id, metadata)
      VALUES (${id}, ${Option.getOrNull(actor)}, ${event.action}, ${event.targetId}, ${JSON.stringify(event.metadata)})`
  })

  /**
   * Runs `change` and, when `eventOf` gives an event for its result, records it, all in one transaction
   * (a savepoint inside a caller's): the change and its record commit or roll back together. Idempotent
   * no-ops return `None` and record nothing.
   */
  const audited = <A, E, R>(change: Effect.Effect<A, E, R>, eventOf: (result: A) => Option.Option<AuditEvent>) =>
    sql.withTransaction(
      Effect.tap(change, (result) =>
        Option.match(eventOf(result), { onNone: () => Effect.void, onSome: (event) => record(event) })
      )
    )

  return { record, audited } as const
})
