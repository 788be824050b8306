/**
 * The kit a service declares its own tables with: `make` (the declaration), `Repository` (its service class
 * with a PostgreSQL and an in-memory layer), the catalog check and the CREATE TABLE a declaration expects.
 */
import { Context, Effect, Layer, Option, type Scope } from "effect"
import { SqlClient } from "effect/sql"
import { MemoryStore } from "../Memory/MemoryStore.ts"
import { DatabaseMigrations } from "../Migrations/DatabaseMigrations.ts"
import { ReadReplicas } from "../Topology/ReadReplicas.ts"
import { checkEntities, compareWithCatalog, EntitySchemaMismatch, readCatalog } from "./CatalogCheck.ts"
import type { AnyEntity } from "./Entity.ts"
import { type EntityRepository, makeEntityRepository } from "./EntityFront.ts"
import { makeEntityStoreMemory } from "./EntityStoreMemory.ts"
import { makeEntityStorePg } from "./EntityStorePg.ts"

export { createTableSql, EntitySchemaMismatch } from "./CatalogCheck.ts"
export {
  type AnyEntity,
  type CreateOf,
  type Entity,
  type EntityOptions,
  type IdOf,
  type KeyErrorOf,
  KeyTakenFields,
  make,
  NotFoundFields,
  type PatchOf,
  type ReferenceErrorOf,
  type RowOf
} from "./Entity.ts"
export {
  type EnsuredRow,
  type EntityRepository,
  type ListOf,
  RowStillReferenced,
  type TextFilterOf
} from "./EntityFront.ts"

/**
 * The repository on PostgreSQL, built once the migrations have run: the table is compared with the declaration
 * first, and any difference fails the layer (startup) with `EntitySchemaMismatch`, one line per difference.
 * With a `ReadReplicas` provided (as `PlatformKernel.layer` does), its lag-tolerant reads follow
 * `database.readFrom`.
 */
export const makePg = <E extends AnyEntity>(
  entity: E
): Effect.Effect<EntityRepository<E>, EntitySchemaMismatch, SqlClient.SqlClient | DatabaseMigrations | Scope.Scope> =>
  Effect.gen(function* () {
    yield* DatabaseMigrations
    const sql = yield* SqlClient.SqlClient
    // A catalog that cannot be read is no typed outcome of a startup check: the database is gone.
    const catalog = yield* Effect.orDie(readCatalog(sql, entity))
    const differences = compareWithCatalog(entity, catalog)
    if (differences.length > 0 || catalog === undefined)
      return yield* new EntitySchemaMismatch({ entity: entity.name, differences })
    // Lag-tolerant reads go to the replicas when `database.readFrom` says so, as the kernel's do; the replica
    // client runs transactions (and every statement in one) on the primary and keeps read-your-writes.
    const reads = Option.match(yield* Effect.serviceOption(ReadReplicas), {
      onNone: () => sql,
      onSome: (replicas) => replicas.sql
    })
    // The store's audit writer lives as long as the scope (the layer's).
    return makeEntityRepository(entity, yield* makeEntityStorePg(sql, entity, catalog, reads))
  })

/** The repository in the `MemoryStore` of `MemoryDatabase.layer` (the same transactions and kernel rows). */
export const makeMemory = <E extends AnyEntity>(entity: E): Effect.Effect<EntityRepository<E>, never, MemoryStore> =>
  Effect.gen(function* () {
    return makeEntityRepository(entity, yield* makeEntityStoreMemory(yield* MemoryStore, entity))
  })

/** What `Repository` returns: the service class, its entity and its two layers. */
export interface RepositoryClass<Self, Id extends string, E extends AnyEntity>
  extends Context.ServiceClass<Self, Id, EntityRepository<E>> {
  readonly entity: E
  readonly layer: Layer.Layer<Self, EntitySchemaMismatch, SqlClient.SqlClient | DatabaseMigrations>
  readonly layerMemory: Layer.Layer<Self, never, MemoryStore>
}

/**
 * The service class of an entity's repository:
 * `class SessionRepository extends Entity.Repository<SessionRepository>()("auth/SessionRepository", Sessions) {}`
 * gives `SessionRepository.layer` (PostgreSQL) and `SessionRepository.layerMemory` (on `MemoryDatabase.layer`).
 */
export const Repository =
  <Self>() =>
  <const Id extends string, E extends AnyEntity>(id: Id, entity: E): RepositoryClass<Self, Id, E> => {
    const Tag = Context.Service<Self, EntityRepository<E>>()(id)
    const layer: Layer.Layer<Self, EntitySchemaMismatch, SqlClient.SqlClient | DatabaseMigrations> = Layer.effect(
      Tag,
      makePg(entity)
    )
    const layerMemory: Layer.Layer<Self, never, MemoryStore> = Layer.effect(Tag, makeMemory(entity))
    return class extends Tag {
      static readonly entity: E = entity
      static readonly layer = layer
      static readonly layerMemory = layerMemory
    }
  }

/** Compares each entity's table with the catalog, e.g. in a service's own startup or `status` check. */
export const checkSchema = (
  ...entities: ReadonlyArray<AnyEntity>
): Effect.Effect<void, EntitySchemaMismatch, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    // A catalog that cannot be read is no typed outcome of a startup check: the database is gone.
    yield* Effect.catchTag(checkEntities(yield* SqlClient.SqlClient, entities), "SqlError", Effect.die)
  })
