import { Effect, HashMap, Option } from "effect"
import { Role } from "../../Domain/index.ts"
import type { RoleStore } from "../Front/RepositoryStore.ts"
import { makeLinkStoreMemory } from "./LinkStoreMemory.ts"
import { permissionsOfRole } from "./MemoryRelations.ts"
import type { MemoryStore } from "./MemoryStore.ts"
import { makeTableOperations, permissionsTable, rolesTable } from "./MemoryTable.ts"
import { makeNamedRowStoreMemory } from "./NamedRowStoreMemory.ts"

/** `roles` and `role_permissions` in the `MemoryStore`. */
export const makeRoleStoreMemory = (store: MemoryStore["Service"]): RoleStore => {
  const roles = makeTableOperations(store, rolesTable)
  return {
    ...makeNamedRowStoreMemory(roles, { make: (row, createdAt) => new Role({ ...row, createdAt }) }),
    update: (id, patch) =>
      roles.update(id, patch.name, (current) => Effect.succeed(new Role({ ...current, ...patch }))),
    permissions: makeLinkStoreMemory(store, {
      holder: { table: rolesTable, label: (role) => role.name },
      held: { table: permissionsTable, label: (permission) => permission.name },
      rows: (tables) => tables.rolePermissions,
      withRows: (tables, rolePermissions) => ({ ...tables, rolePermissions }),
      makeRow: (roleId, permissionId, createdAt) => ({ roleId, permissionId, createdAt })
    }),
    permissionsOf: (id) =>
      Effect.map(store.read, (tables) =>
        HashMap.has(tables.roles, id) ? Option.some(permissionsOfRole(tables, id)) : Option.none()
      )
  }
}
