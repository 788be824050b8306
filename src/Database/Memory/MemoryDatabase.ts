import { type Effect, Layer } from "effect"
import * as RepositoryFronts from "../Front/RepositoryFronts.ts"
import type { Repositories } from "../Repositories/Repositories.ts"
import * as MemoryRepositoryStore from "./MemoryRepositoryStore.ts"
import { MemoryStore } from "./MemoryStore.ts"

/** What `MemoryDatabase.layer` provides: the same services as the PostgreSQL repository layer, plus the store. */
export type MemoryDatabaseServices = Repositories | MemoryStore

// Every build makes a new store, so each `Effect.provide` (each test) starts from empty tables.
const layer: Layer.Layer<MemoryDatabaseServices> = RepositoryFronts.layer.pipe(
  Layer.provide(MemoryRepositoryStore.layer),
  Layer.provideMerge(MemoryStore.layer)
)

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
 * provides instead of `RepositoryLayers.layer` (`PlatformKernelLayer`). The same fronts as on PostgreSQL,
 * so the same validation, errors and audit records; the store gives the same orderings and pagination.
 * See `MemoryStore` for what differs.
 */
export const MemoryDatabase = { layer, layerSeeded } as const
