import { type Effect, Layer } from "effect"
import { AuditLogRepository } from "../Repositories/AuditLogRepository.ts"
import { PermissionRepository } from "../Repositories/PermissionRepository.ts"
import { RoleRepository } from "../Repositories/RoleRepository.ts"
import { Transactions } from "../Repositories/Transactions.ts"
import { UserRepository } from "../Repositories/UserRepository.ts"
import { MemoryStore } from "./MemoryStore.ts"

/** What `MemoryDatabase.layer` provides: the same services as the PostgreSQL `RepositoriesLayer`, plus the store. */
export type MemoryDatabaseServices =
  | UserRepository
  | RoleRepository
  | PermissionRepository
  | AuditLogRepository
  | Transactions
  | MemoryStore

const repositories = Layer.mergeAll(
  UserRepository.layerMemory,
  RoleRepository.layerMemory,
  PermissionRepository.layerMemory,
  AuditLogRepository.layerMemory,
  Transactions.layerMemory
)

// Every build makes a new store, so each `Effect.provide` (each test) starts from empty tables.
const layer: Layer.Layer<MemoryDatabaseServices> = repositories.pipe(Layer.provideMerge(MemoryStore.layer))

/**
 * `layer`, with `seed` run once when the layer is built, e.g. to create the users and roles a suite
 * expects. The seed runs as the calling fiber's actor (the system by default) and is audited as usual.
 */
const layerSeeded = <A, E, R>(
  seed: Effect.Effect<A, E, R>
): Layer.Layer<MemoryDatabaseServices, E, Exclude<R, MemoryDatabaseServices>> =>
  Layer.effectDiscard(seed).pipe(Layer.provideMerge(layer))

/**
 * Every repository and `Transactions` in memory, on one fresh `MemoryStore`: what a consumer's test
 * provides instead of `PlatformKernelLayer`. Same validation, errors, orderings, pagination and audit
 * records as PostgreSQL; see `MemoryStore` for what differs.
 */
export const MemoryDatabase = { layer, layerSeeded } as const
