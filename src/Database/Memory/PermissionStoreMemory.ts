import { Permission } from "../../Domain/index.ts"
import { makeEntityTableMemory } from "../Entity/EntityStoreMemory.ts"
import { Permissions } from "../Entity/KernelEntities.ts"
import { makeNamedRowTable } from "../Entity/NamedRowTable.ts"
import type { PermissionStore } from "../Front/RepositoryStore.ts"
import type { MemoryStore } from "./MemoryStore.ts"
import { kernelTableSlot, permissionsTable } from "./MemoryTable.ts"

/** `permissions`: the kit's table of the `Permissions` declaration, kept in `tables.permissions`. */
export const makePermissionStoreMemory = (store: MemoryStore["Service"]): PermissionStore =>
  makeNamedRowTable(makeEntityTableMemory(store, Permissions, kernelTableSlot(permissionsTable, Permission)), {
    entity: Permissions,
    Insert: Permission.insert,
    prefixOf: (query) => (query.module === undefined ? undefined : `${query.module}.`)
  })
