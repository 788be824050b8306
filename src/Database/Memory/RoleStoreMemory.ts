import { Effect, HashMap, Option } from "effect"
import { Role } from "../../Domain/index.ts"
import { makeEntityTableMemory } from "../Entity/EntityStoreMemory.ts"
import { Roles } from "../Entity/KernelEntities.ts"
import { kernelFailure, makeNamedRowTable } from "../Entity/NamedRowTable.ts"
import type { RoleStore } from "../Front/RepositoryStore.ts"
import { makeLinkStoreMemory } from "./LinkStoreMemory.ts"
import { permissionsOfRole } from "./MemoryRelations.ts"
import type { MemoryStore } from "./MemoryStore.ts"
import { kernelTableSlot, permissionsTable, rolesTable } from "./MemoryTable.ts"

/** `roles` (the kit's table of the `Roles` declaration, kept in `tables.roles`) and `role_permissions`. */
export const makeRoleStoreMemory = (store: MemoryStore["Service"]): RoleStore => {
  const roles = makeEntityTableMemory(store, Roles, kernelTableSlot(rolesTable, Role))
  return {
    ...makeNamedRowTable(roles, { entity: Roles, Insert: Role.insert }),
    // The patch is checked by the front already: its fields are the row's, as stored.
    update: (id, patch) => kernelFailure(roles.update(id, patch)),
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
