import { type Array as Arr, Effect, Schema } from "effect"
import { KeyTaken, type NamedRowStore, type PageQuery, type StoreFailure } from "../Front/RepositoryStore.ts"
import type { AnyEntity } from "./Entity.ts"
import type { EncodedRow, EntityTable, EntityWriteFailure } from "./EntityStore.ts"

/**
 * A kit failure in the terms of the kernel's stores: a taken key is `KeyTaken`; the others cannot come from
 * input the kernel's fronts checked (the CHECKs repeat the domain's rules, `roles` and `permissions` reference
 * nothing), so, as the SQL error they stand for was before, they are defects.
 */
export const kernelFailure = <A, R>(
  effect: Effect.Effect<A, EntityWriteFailure | StoreFailure, R>
): Effect.Effect<A, KeyTaken | StoreFailure, R> =>
  Effect.catchTags(effect, {
    EntityKeyTaken: () => Effect.fail(new KeyTaken()),
    EntityBadValue: Effect.die,
    EntityReferenceMissing: Effect.die,
    EntityStillReferenced: Effect.die
  })

/**
 * The kernel's `NamedRowStore` (roles, permissions) over a kit table of either backend: the name is the
 * declaration's unique key `name`, `ensure` is the kit's insert-if-absent, pages go by name, and `prefixOf`
 * gives a query's name prefix (the permissions' module).
 */
export const makeNamedRowTable = <
  Row extends { readonly id: Id; readonly name: Name },
  Insert,
  Id extends string,
  Name extends string,
  Query extends PageQuery<Name>
>(
  table: EntityTable<Row>,
  spec: {
    readonly entity: AnyEntity
    readonly Insert: Schema.Encoder<Insert, unknown>
    readonly prefixOf?: (query: Query) => string | undefined
  }
): NamedRowStore<Row, Insert, Id, Name, Query> => {
  const nameKey = spec.entity.keys.find((key) => key.name === "name")
  if (nameKey === undefined) throw new Error(`Entity ${spec.entity.name}: no unique key "name"`)
  const encode = Schema.encodeEffect(spec.Insert) as (row: Insert) => Effect.Effect<EncodedRow, Schema.SchemaError>
  const encodeAll = (rows: Arr.NonEmptyReadonlyArray<Insert>) =>
    Effect.map(Effect.forEach(rows, encode), (encoded) => encoded as unknown as Arr.NonEmptyReadonlyArray<EncodedRow>)
  return {
    insert: (row) =>
      kernelFailure(Effect.flatMap(encode(row), (encoded) => table.insert([encoded]))).pipe(
        Effect.map((rows) => rows[0]!)
      ),
    insertOrGetAll: (rows) =>
      // Distinct names: the only key `ensure` writes, so no other key can be taken.
      Effect.catchTag(
        kernelFailure(Effect.flatMap(encodeAll(rows), (encoded) => table.insertOrGet(nameKey, encoded))),
        "KeyTaken",
        Effect.die
      ),
    findById: table.findById,
    findByName: (name) => table.findByKey(nameKey, [name]),
    list: (query) => {
      const prefix = spec.prefixOf?.(query)
      return table.list({
        after: query.after === undefined ? undefined : [query.after],
        limit: query.limit,
        where: [],
        startsWith: prefix === undefined ? [] : [["name", prefix]]
      })
    },
    delete: (id) => Effect.catchTag(kernelFailure(table.delete(id)), "KeyTaken", Effect.die)
  }
}
