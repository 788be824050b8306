import { Schema } from "effect"
import { Permission } from "./Permission.ts"
import type { PermissionName } from "./PermissionName.ts"
import { Role } from "./Role.ts"
import type { RoleName } from "./RoleName.ts"
import { User } from "./User.ts"

/** A role together with the permissions granted to it. */
export class RoleWithPermissions extends Schema.Class<RoleWithPermissions>("RoleWithPermissions")({
  role: Role,
  permissions: Schema.Array(Permission)
}) {
  /** The API shape: built from the `json` variants. */
  static readonly json = Schema.Struct({ role: Role.json, permissions: Schema.Array(Permission.json) })
}

/** A user with every role assigned to them and every permission of those roles. */
export class UserWithAccess extends Schema.Class<UserWithAccess>("UserWithAccess")({
  user: User,
  roles: Schema.Array(RoleWithPermissions)
}) {
  /**
   * The API shape. Always encode with this one: the default (database) schema encodes the password hash
   * back to its text.
   */
  static readonly json = Schema.Struct({ user: User.json, roles: Schema.Array(RoleWithPermissions.json) })
}

export const roleNamesOf = (access: UserWithAccess): ReadonlySet<RoleName> =>
  new Set(access.roles.map(({ role }) => role.name))

/** The union of the permissions of all the user's roles. */
export const permissionNamesOf = (access: UserWithAccess): ReadonlySet<PermissionName> =>
  new Set(access.roles.flatMap(({ permissions }) => permissions.map((permission) => permission.name)))

export const hasPermission = (access: UserWithAccess, name: PermissionName): boolean =>
  access.roles.some(({ permissions }) => permissions.some((permission) => permission.name === name))
