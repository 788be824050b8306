import { Permission } from "../../Domain/index.ts"
import type { PermissionStore } from "../Front/RepositoryStore.ts"
import type { MemoryStore } from "./MemoryStore.ts"
import { makeTableOperations, permissionsTable } from "./MemoryTable.ts"
import { makeNamedRowStoreMemory } from "./NamedRowStoreMemory.ts"

/** `permissions` in the `MemoryStore`. */
export const makePermissionStoreMemory = (store: MemoryStore["Service"]): PermissionStore =>
  makeNamedRowStoreMemory(makeTableOperations(store, permissionsTable), {
    make: (row, createdAt) => new Permission({ ...row, createdAt }),
    matches: (permission, query) => query.module === undefined || permission.name.startsWith(`${query.module}.`)
  })
