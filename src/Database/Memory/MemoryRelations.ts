import { HashMap, Option } from "effect"
import type { Permission, PermissionId, Role, RoleId, UserId } from "../../Domain/index.ts"
import { withoutReferencing } from "../Entity/MemoryEntityTables.ts"
import type { MemoryTables } from "./MemoryStore.ts"
import { compareText } from "./TextOrder.ts"

const byName = (left: { readonly name: string }, right: { readonly name: string }): number =>
  compareText(left.name, right.name)

export const findValue = <K, V>(map: HashMap.HashMap<K, V>, predicate: (value: V) => boolean): Option.Option<V> =>
  Option.map(
    HashMap.findFirst(map, (value) => predicate(value)),
    ([, value]) => value
  )

/** `SELECT ... WHERE key > after ORDER BY key LIMIT limit` over `rows`. */
export const pageAfter = <Row>(
  rows: Iterable<Row>,
  keyOf: (row: Row) => string,
  query: { readonly after: string | undefined; readonly limit: number }
): Array<Row> =>
  [...rows]
    .filter((row) => query.after === undefined || compareText(keyOf(row), query.after) > 0)
    .sort((left, right) => compareText(keyOf(left), keyOf(right)))
    .slice(0, query.limit)

/** The roles of a user, by name (the user's existence is the caller's to check). */
export const rolesOfUser = (tables: MemoryTables, userId: UserId): Array<Role> => {
  const roles: Array<Role> = []
  for (const link of HashMap.values(tables.userRoles)) {
    if (link.userId !== userId) continue
    const role = HashMap.get(tables.roles, link.roleId)
    if (Option.isSome(role)) roles.push(role.value)
  }
  return roles.sort(byName)
}

/** The permissions granted to a role, by name. */
export const permissionsOfRole = (tables: MemoryTables, roleId: RoleId): Array<Permission> => {
  const permissions: Array<Permission> = []
  for (const grant of HashMap.values(tables.rolePermissions)) {
    if (grant.roleId !== roleId) continue
    const permission = HashMap.get(tables.permissions, grant.permissionId)
    if (Option.isSome(permission)) permissions.push(permission.value)
  }
  return permissions.sort(byName)
}

/** The distinct permissions of all the roles of a user, by name. */
export const permissionsOfUser = (tables: MemoryTables, userId: UserId): Array<Permission> => {
  const distinct = new Map<PermissionId, Permission>()
  for (const role of rolesOfUser(tables, userId)) {
    for (const permission of permissionsOfRole(tables, role.id)) distinct.set(permission.id, permission)
  }
  return [...distinct.values()].sort(byName)
}

// ON DELETE CASCADE of the link tables, and the ON DELETE of the service entities referencing the row.

export const withoutUser = (tables: MemoryTables, userId: UserId): MemoryTables =>
  withoutReferencing(
    {
      ...tables,
      users: HashMap.remove(tables.users, userId),
      userRoles: HashMap.filter(tables.userRoles, (link) => link.userId !== userId)
    },
    "users",
    userId
  )

export const withoutRole = (tables: MemoryTables, roleId: RoleId): MemoryTables =>
  withoutReferencing(
    {
      ...tables,
      roles: HashMap.remove(tables.roles, roleId),
      userRoles: HashMap.filter(tables.userRoles, (link) => link.roleId !== roleId),
      rolePermissions: HashMap.filter(tables.rolePermissions, (grant) => grant.roleId !== roleId)
    },
    "roles",
    roleId
  )

export const withoutPermission = (tables: MemoryTables, permissionId: PermissionId): MemoryTables =>
  withoutReferencing(
    {
      ...tables,
      permissions: HashMap.remove(tables.permissions, permissionId),
      rolePermissions: HashMap.filter(tables.rolePermissions, (grant) => grant.permissionId !== permissionId)
    },
    "permissions",
    permissionId
  )
