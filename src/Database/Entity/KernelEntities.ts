import { Schema } from "effect"
import { Permission, Role } from "../../Domain/index.ts"
import { KeyTakenFields, make, NotFoundFields } from "./Entity.ts"
import type { EntityConstraints } from "./EntityStorePg.ts"

// The kernel's own `roles` and `permissions`, declared with the entity kit a service uses: both backends'
// row stores of RoleRepository and PermissionRepository are the kit's tables (Postgres/RoleStorePg.ts,
// Memory/RoleStoreMemory.ts and their permission twins). The kernel's repositories raise the domain's errors
// (RoleNotFound, RoleNameTaken...); the classes below are only what the declaration names, for a kit front.

export class KernelRoleNotFound extends Schema.TaggedError<KernelRoleNotFound>()(
  "KernelRoleNotFound",
  NotFoundFields
) {}
export class KernelRoleNameTaken extends Schema.TaggedError<KernelRoleNameTaken>()(
  "KernelRoleNameTaken",
  KeyTakenFields
) {}
export class KernelPermissionNotFound extends Schema.TaggedError<KernelPermissionNotFound>()(
  "KernelPermissionNotFound",
  NotFoundFields
) {}
export class KernelPermissionNameTaken extends Schema.TaggedError<KernelPermissionNameTaken>()(
  "KernelPermissionNameTaken",
  KeyTakenFields
) {}

/** `roles` (migrations/0002_identity.sql): pages by name, the unique key. */
export const Roles = make(Role, {
  table: "roles",
  notFound: KernelRoleNotFound,
  keys: { name: KernelRoleNameTaken },
  order: ["name"]
})

/** `permissions` (migrations/0002_identity.sql): pages by name, the unique key. */
export const Permissions = make(Permission, {
  table: "permissions",
  notFound: KernelPermissionNotFound,
  keys: { name: KernelPermissionNameTaken },
  order: ["name"]
})

/**
 * The constraint names migrations/0002_identity.sql gives the two tables, so the kernel's stores map a
 * violation without reading the catalog at startup (test/Database/Entity/KernelTables.test.ts compares them
 * with the catalog).
 */
export const kernelConstraints = {
  roles: {
    uniques: [{ name: "roles_name_key", columns: ["name"], primary: false }],
    foreignKeys: [],
    checks: [{ name: "roles_name_format", columns: ["name"] }]
  },
  permissions: {
    uniques: [{ name: "permissions_name_key", columns: ["name"], primary: false }],
    foreignKeys: [],
    checks: [{ name: "permissions_name_format", columns: ["name"] }]
  }
} as const satisfies Record<string, EntityConstraints>
