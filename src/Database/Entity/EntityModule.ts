import { pathToFileURL } from "node:url"
import { Effect, Schema } from "effect"
import { createTableSql } from "./CatalogCheck.ts"
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

/** The CREATE TABLE of every entity the module at `path` (relative to the working directory) declares. */
export const createTablesOfModule = (path: string): Effect.Effect<string, EntityModuleError> =>
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
    return entities.map(createTableSql).join("\n")
  })
