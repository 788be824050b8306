import type { Schema } from "effect"
import { AuditAction, type PermissionId, type RoleId, type UserId } from "../../Domain/index.ts"

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

/** What a change records. Metadata is built here from ids and names: never a secret. */
export interface AuditEvent {
  readonly action: AuditAction
  /** The id of the affected entity. */
  readonly targetId: string
  readonly metadata: Schema.JsonObject
}

// The record of each audited change, built here once so that both implementations write the same ones.

export const userCreatedEvent = (user: {
  readonly id: UserId
  readonly email: string
  readonly verified: boolean
}): AuditEvent => ({
  action: AuditActions.userCreated,
  targetId: user.id,
  metadata: { email: user.email, verified: user.verified }
})

export const userDeletedEvent = (user: { readonly id: UserId; readonly email: string }): AuditEvent => ({
  action: AuditActions.userDeleted,
  targetId: user.id,
  metadata: { email: user.email }
})

export const roleDeletedEvent = (role: { readonly id: RoleId; readonly name: string }): AuditEvent => ({
  action: AuditActions.roleDeleted,
  targetId: role.id,
  metadata: { name: role.name }
})

export const permissionDeletedEvent = (permission: {
  readonly id: PermissionId
  readonly name: string
}): AuditEvent => ({
  action: AuditActions.permissionDeleted,
  targetId: permission.id,
  metadata: { name: permission.name }
})

/**
 * A link added or removed: a user's role, or a role's permission. The holder (the user, the role) is the
 * audit target; each end is also recorded by its label (the user's email, a role's or permission's name).
 */
export interface ChangedLink<HolderId extends string, HeldId extends string> {
  readonly holderId: HolderId
  readonly holderLabel: string
  readonly heldId: HeldId
  readonly heldLabel: string
}

/** `user.role_assigned` or `user.role_removed`. */
export const userRoleEvent = (action: AuditAction, link: ChangedLink<UserId, RoleId>): AuditEvent => ({
  action,
  targetId: link.holderId,
  metadata: { email: link.holderLabel, roleId: link.heldId, roleName: link.heldLabel }
})

/** `role.permission_granted` or `role.permission_revoked`. */
export const rolePermissionEvent = (action: AuditAction, link: ChangedLink<RoleId, PermissionId>): AuditEvent => ({
  action,
  targetId: link.holderId,
  metadata: { roleName: link.holderLabel, permissionId: link.heldId, permissionName: link.heldLabel }
})
