import { pathToFileURL } from "node:url"
import { Effect, Schema } from "effect"
import type { SqlClient, SqlError } from "effect/sql"
import { compareWithCatalog, createTableSql, readCatalog } from "./CatalogCheck.ts"
import type { AnyEntity } from "./Entity.ts"

/** A module that could not be loaded, or that exports no entity. */
export class EntityModuleError extends Schema.TaggedError<EntityModuleError>()("EntityModuleError", {
  message: Schema.String
}) {}

// A declaration as `Entity.make` builds it (checked by shape: the module may load another copy of the kit).
const isEntity = (value: unknown): value is AnyEntity =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as { readonly qualifiedTable?: unknown }).qualifiedTable === "string" &&
  Array.isArray((value as { readonly columns?: unknown }).columns) &&
  "Model" in value

/** The entities a module exports (a repository class exports its entity too), each once, in export order. */
export const entitiesOf = (exports: Readonly<Record<string, unknown>>): ReadonlyArray<AnyEntity> => {
  const found = new Set<AnyEntity>()
  for (const value of Object.values(exports)) {
    if (isEntity(value)) found.add(value)
    const entity = (value as { readonly entity?: unknown } | null)?.entity
    if (typeof value === "function" && isEntity(entity)) found.add(entity)
  }
  return [...found]
}

/** The entities the module at `path` (relative to the working directory) declares; none is an error. */
export const loadEntities = (path: string): Effect.Effect<ReadonlyArray<AnyEntity>, EntityModuleError> =>
  Effect.gen(function* () {
    const exports = yield* Effect.tryPromise({
      try: () => import(pathToFileURL(path).href) as Promise<Record<string, unknown>>,
      catch: (cause) =>
        new EntityModuleError({
          message: `cannot load ${path}: ${cause instanceof Error ? cause.message : String(cause)}`
        })
    })
    const entities = entitiesOf(exports)
    if (entities.length === 0)
      return yield* new EntityModuleError({ message: `${path} exports no entity (Entity.make)` })
    return entities
  })

/** The CREATE TABLE of every entity the module at `path` declares. */
export const createTablesOfModule = (path: string): Effect.Effect<string, EntityModuleError> =>
  Effect.map(loadEntities(path), (entities) => entities.map(createTableSql).join("\n"))

/** Each entity's table, compared with the catalog (for `status`): its differences, none when it matches. */
export interface EntityStatus {
  readonly entity: string
  readonly table: string
  readonly differences: ReadonlyArray<string>
}

export const entityStatuses = (
  sql: SqlClient.SqlClient,
  entities: ReadonlyArray<AnyEntity>
): Effect.Effect<ReadonlyArray<EntityStatus>, SqlError.SqlError> =>
  Effect.forEach(entities, (entity) =>
    Effect.map(readCatalog(sql, entity), (catalog) => ({
      entity: entity.name,
      table: entity.qualifiedTable,
      differences: compareWithCatalog(entity, catalog)
    }))
  )
