import { Redacted } from "effect"
import {
  AuditActions,
  type AuditEvent,
  type Permission,
  type PermissionId,
  type Role,
  type RoleId,
  type User,
  type UserId
} from "../../Domain/index.ts"
import type { Ensured, LinkEnd } from "./RepositoryStore.ts"

// The record of each audited change, built here once so that both backends write the same ones. Metadata is
// made of ids, e-mails, names, descriptions and flags: never a secret (of a password hash, only that it
// changed).

export const userCreatedEvent = (user: User): AuditEvent => ({
  action: AuditActions.userCreated,
  targetId: user.id,
  metadata: { email: user.email, verified: user.verified }
})

export const userDeletedEvent = (user: User): AuditEvent => ({
  action: AuditActions.userDeleted,
  targetId: user.id,
  metadata: { email: user.email }
})

/** One record per changed field of an update; none when the update changed nothing. */
export const userChangedEvents = ({ before, after }: { readonly before: User; readonly after: User }) => {
  const events: Array<AuditEvent> = []
  if (before.email !== after.email)
    events.push({
      action: AuditActions.userEmailChanged,
      targetId: after.id,
      metadata: { previousEmail: before.email, email: after.email }
    })
  if (Redacted.value(before.passwordHash) !== Redacted.value(after.passwordHash))
    events.push({ action: AuditActions.userPasswordChanged, targetId: after.id, metadata: { email: after.email } })
  if (before.verified !== after.verified)
    events.push({
      action: AuditActions.userVerifiedChanged,
      targetId: after.id,
      metadata: { email: after.email, verified: after.verified }
    })
  return events
}

export const roleCreatedEvent = (role: Role): AuditEvent => ({
  action: AuditActions.roleCreated,
  targetId: role.id,
  metadata: { name: role.name, description: role.description }
})

export const roleDeletedEvent = (role: Role): AuditEvent => ({
  action: AuditActions.roleDeleted,
  targetId: role.id,
  metadata: { name: role.name }
})

/** One record per changed field of an update; none when the update changed nothing. */
export const roleChangedEvents = ({ before, after }: { readonly before: Role; readonly after: Role }) => {
  const events: Array<AuditEvent> = []
  if (before.name !== after.name)
    events.push({
      action: AuditActions.roleRenamed,
      targetId: after.id,
      metadata: { previousName: before.name, name: after.name }
    })
  if (before.description !== after.description)
    events.push({
      action: AuditActions.roleDescriptionChanged,
      targetId: after.id,
      metadata: { name: after.name, previousDescription: before.description, description: after.description }
    })
  return events
}

export const permissionCreatedEvent = (permission: Permission): AuditEvent => ({
  action: AuditActions.permissionCreated,
  targetId: permission.id,
  metadata: { name: permission.name, description: permission.description }
})

export const permissionDeletedEvent = (permission: Permission): AuditEvent => ({
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

/** The records of adding and of removing a link of one kind. */
export interface LinkEvents<HolderId extends string, HeldId extends string> {
  readonly added: (link: ChangedLink<HolderId, HeldId>) => AuditEvent
  readonly removed: (link: ChangedLink<HolderId, HeldId>) => AuditEvent
}

const userRoleEvent =
  (action: typeof AuditActions.userRoleAssigned | typeof AuditActions.userRoleRemoved) =>
  (link: ChangedLink<UserId, RoleId>): AuditEvent => ({
    action,
    targetId: link.holderId,
    metadata: { email: link.holderLabel, roleId: link.heldId, roleName: link.heldLabel }
  })

const rolePermissionEvent =
  (action: typeof AuditActions.rolePermissionGranted | typeof AuditActions.rolePermissionRevoked) =>
  (link: ChangedLink<RoleId, PermissionId>): AuditEvent => ({
    action,
    targetId: link.holderId,
    metadata: { roleName: link.holderLabel, permissionId: link.heldId, permissionName: link.heldLabel }
  })

/** `user.role_assigned` and `user.role_removed`. */
export const userRoleEvents: LinkEvents<UserId, RoleId> = {
  added: userRoleEvent(AuditActions.userRoleAssigned),
  removed: userRoleEvent(AuditActions.userRoleRemoved)
}

/** `role.permission_granted` and `role.permission_revoked`. */
export const rolePermissionEvents: LinkEvents<RoleId, PermissionId> = {
  added: rolePermissionEvent(AuditActions.rolePermissionGranted),
  removed: rolePermissionEvent(AuditActions.rolePermissionRevoked)
}

/**
 * The records of `ensureWithPermissions`, as its parts would write them: the role if it was created, each
 * permission created, each grant added.
 */
export const ensuredRoleEvents = (
  role: Ensured<Role>,
  permissions: ReadonlyArray<Ensured<Permission>>,
  grants: ReadonlyArray<LinkEnd<PermissionId> & { readonly changed: boolean }>
): ReadonlyArray<AuditEvent> => [
  ...(role.created ? [roleCreatedEvent(role.row)] : []),
  ...permissions.flatMap((permission) => (permission.created ? [permissionCreatedEvent(permission.row)] : [])),
  ...grants.flatMap((grant) =>
    grant.changed
      ? [
          rolePermissionEvents.added({
            holderId: role.row.id,
            holderLabel: role.row.name,
            heldId: grant.id,
            heldLabel: grant.label
          })
        ]
      : []
  )
]
