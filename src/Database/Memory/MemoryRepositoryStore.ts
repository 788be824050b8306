import { Effect, Layer } from "effect"
import { RepositoryStore } from "../Front/RepositoryStore.ts"
import { makeAuditLogStoreMemory } from "./AuditLogStoreMemory.ts"
import { MemoryStore } from "./MemoryStore.ts"
import { makePermissionStoreMemory } from "./PermissionStoreMemory.ts"
import { makeRoleStoreMemory } from "./RoleStoreMemory.ts"
import { makeUserStoreMemory } from "./UserStoreMemory.ts"

/**
 * The `RepositoryStore` on a `MemoryStore`: what PostgreSQL stores, with its orderings, cascades, `now()` and
 * unique keys; a transaction is the store's, so it never fails.
 */
export const make: Effect.Effect<RepositoryStore["Service"], never, MemoryStore> = Effect.gen(function* () {
  const store = yield* MemoryStore
  return RepositoryStore.of({
    users: makeUserStoreMemory(store),
    roles: makeRoleStoreMemory(store),
    permissions: makePermissionStoreMemory(store),
    auditLogs: makeAuditLogStoreMemory(store),
    transaction: store.transaction
  })
})

/** `RepositoryStore` on the `MemoryStore` it is given. */
export const layer: Layer.Layer<RepositoryStore, never, MemoryStore> = Layer.effect(RepositoryStore, make)
