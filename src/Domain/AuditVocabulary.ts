import { Effect, Option, Schema } from "effect"
import type { AuditLog } from "./AuditLog.ts"
import { PermissionId, RoleId, UserId } from "./Ids.ts"

/**
 * The actions the repositories record, one per security-relevant change. Every change is recorded in the
 * transaction that makes it, with the `CurrentActor`; a call that changes nothing records nothing.
 */
export const AuditActions = {
  userCreated: "user.created",
  userEmailChanged: "user.email_changed",
  /** The password hash was replaced; the record never holds the hash. */
  userPasswordChanged: "user.password_changed",
  userVerifiedChanged: "user.verified_changed",
  userDeleted: "user.deleted",
  userRoleAssigned: "user.role_assigned",
  userRoleRemoved: "user.role_removed",
  roleCreated: "role.created",
  roleRenamed: "role.renamed",
  roleDescriptionChanged: "role.description_changed",
  roleDeleted: "role.deleted",
  rolePermissionGranted: "role.permission_granted",
  rolePermissionRevoked: "role.permission_revoked",
  permissionCreated: "permission.created",
  permissionDeleted: "permission.deleted"
} as const

/** An action of `AuditActions`. */
export type KernelAuditAction = (typeof AuditActions)[keyof typeof AuditActions]

// One record: its action, the id of the changed entity (its audit target) and its metadata. Labels (e-mails,
// names, descriptions) are as they were when the change was made.
const record = <Action extends KernelAuditAction, Target extends Schema.Top, Metadata extends Schema.Struct.Fields>(
  action: Action,
  targetId: Target,
  metadata: Metadata
) => Schema.Struct({ action: Schema.Literal(action), targetId, metadata: Schema.Struct(metadata) })

const A = AuditActions
const text = Schema.String
const userRole = { email: text, roleId: RoleId, roleName: text }
const rolePermission = { roleName: text, permissionId: PermissionId, permissionName: text }

const records = [
  record(A.userCreated, UserId, { email: text, verified: Schema.Boolean }),
  record(A.userEmailChanged, UserId, { previousEmail: text, email: text }),
  record(A.userPasswordChanged, UserId, { email: text }),
  record(A.userVerifiedChanged, UserId, { email: text, verified: Schema.Boolean }),
  record(A.userDeleted, UserId, { email: text }),
  record(A.userRoleAssigned, UserId, userRole),
  record(A.userRoleRemoved, UserId, userRole),
  record(A.roleCreated, RoleId, { name: text, description: text }),
  record(A.roleRenamed, RoleId, { previousName: text, name: text }),
  record(A.roleDescriptionChanged, RoleId, { name: text, previousDescription: text, description: text }),
  record(A.roleDeleted, RoleId, { name: text }),
  record(A.rolePermissionGranted, RoleId, rolePermission),
  record(A.rolePermissionRevoked, RoleId, rolePermission),
  record(A.permissionCreated, PermissionId, { name: text, description: text }),
  record(A.permissionDeleted, PermissionId, { name: text })
] as const

/**
 * A record the repositories write, tagged by `action`: `targetId` is the id of the changed user, role or
 * permission, and `metadata` has the fields of its action. Decode what `AuditLogRepository` reads with
 * `decodeAuditEvent`.
 */
export const AuditEvent = Schema.Union(records)
export type AuditEvent = typeof AuditEvent.Type

/** The event of `action`. */
export type AuditEventOf<Action extends KernelAuditAction> = Extract<AuditEvent, { readonly action: Action }>

type RecordSchema = (typeof records)[number]

/** The metadata schema of each action, e.g. `AuditMetadataSchemas["user.email_changed"]`. */
export const AuditMetadataSchemas = Object.fromEntries(
  records.map((schema) => [schema.fields.action.literal, schema.fields.metadata])
) as {
  readonly [S in RecordSchema as S["fields"]["action"]["literal"]]: S["fields"]["metadata"]
}

const kernelActions: ReadonlySet<string> = new Set(Object.values(AuditActions))

/** Whether the repositories write `action` (otherwise it is an action of the application's own). */
export const isKernelAuditAction = (action: string): action is KernelAuditAction => kernelActions.has(action)

const decodeEvent = Schema.decodeUnknownEffect(AuditEvent)

/**
 * The typed event of an audit record: `None` for an action of the application's own (`append`), a
 * `SchemaError` for a kernel action whose record does not have its action's shape.
 */
export const decodeAuditEvent = (
  log: Pick<AuditLog, "action" | "targetId" | "metadata">
): Effect.Effect<Option.Option<AuditEvent>, Schema.SchemaError> =>
  isKernelAuditAction(log.action)
    ? Effect.asSome(
        decodeEvent({ action: log.action, targetId: Option.getOrUndefined(log.targetId), metadata: log.metadata })
      )
    : Effect.succeedNone
