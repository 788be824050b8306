/**
 * What the kit's table gained to carry the kernel's roles and permissions, on both backends and in both of the
 * memory store's layouts (a kernel table keeping decoded rows, an entity's own table): insert-if-absent by a
 * unique key (`ensure`), a name-prefix filter that takes `_` literally, and pages by a NOT NULL unique key
 * alone.
 */
import { randomUUID } from "node:crypto"
import { assert, describe, it, layer } from "@effect/vitest"
import { Context, Effect, Layer, Schema } from "effect"
import { Model } from "effect/schema"
import { SqlClient } from "effect/sql"
import { readCatalog } from "../../../src/Database/Entity/CatalogCheck.ts"
import * as Entity from "../../../src/Database/Entity/EntityKit.ts"
import type { EntityTable } from "../../../src/Database/Entity/EntityStore.ts"
import { makeEntityStoreMemory, makeEntityTableMemory } from "../../../src/Database/Entity/EntityStoreMemory.ts"
import { makeEntityTablePg } from "../../../src/Database/Entity/EntityStorePg.ts"
import { kernelConstraints, Permissions } from "../../../src/Database/Entity/KernelEntities.ts"
import { MemoryDatabase } from "../../../src/Database/Memory/MemoryDatabase.ts"
import { MemoryStore } from "../../../src/Database/Memory/MemoryStore.ts"
import { kernelTableSlot, permissionsTable } from "../../../src/Database/Memory/MemoryTable.ts"
import { TestDatabase } from "../../../src/Database/Testing/TestDatabase.ts"
import { newPermissionId, Permission } from "../../../src/Domain/index.ts"

class TagNotFound extends Schema.TaggedError<TagNotFound>()("TagNotFound", Entity.NotFoundFields) {}
class TagLabelTaken extends Schema.TaggedError<TagLabelTaken>()("TagLabelTaken", Entity.KeyTakenFields) {}
class TagNameTaken extends Schema.TaggedError<TagNameTaken>()("TagNameTaken", Entity.KeyTakenFields) {}

/** A service's own table of the same shape: `name` a unique key, `description` free text. */
class Tag extends Model.Class<Tag>("Tag")({
  id: Model.UuidV4Insert(Schema.String.pipe(Schema.brand("TagId"))),
  name: Schema.String,
  description: Schema.String
}) {}
const Tags = Entity.make(Tag, {
  table: "kit_tags",
  notFound: TagNotFound,
  keys: { name: TagNameTaken },
  order: ["name"]
})

/** The table under test, holding rows with a unique `name` and a `description`. */
class Table extends Context.Service<
  Table,
  EntityTable<{ readonly id: string; readonly name: string; readonly description: string }>
>()("test/KitTable") {}

const newId = Effect.map(newPermissionId, String)

// Permission names are checked by the kernel's table: three segments of [a-z0-9_], the module first.
const suite = <E>(layerOf: Layer.Layer<Table, E>) =>
  layer(layerOf, { timeout: "60 seconds" })((it) => {
    it.effect("insertOrGet inserts the absent rows, returns the present ones unchanged, in the order given", () =>
      Effect.gen(function* () {
        const table = yield* Table
        const module = `m${randomUUID().slice(0, 8)}`
        const key = Permissions.keys[0]!
        const [first] = yield* table.insert([{ id: yield* newId, name: `${module}.a.read`, description: "first" }])
        const ensured = yield* table.insertOrGet(key, [
          { id: yield* newId, name: `${module}.b.read`, description: "new" },
          { id: yield* newId, name: `${module}.a.read`, description: "ignored" }
        ])
        assert.deepStrictEqual(
          ensured.map(({ row, created }) => [row.name, row.description, created]),
          [
            [`${module}.b.read`, "new", true],
            [`${module}.a.read`, "first", false]
          ]
        )
        assert.strictEqual(ensured[1]!.row.id, first!.id)
        const again = yield* table.insertOrGet(key, [{ id: yield* newId, name: `${module}.b.read`, description: "" }])
        assert.deepStrictEqual(
          again.map(({ row, created }) => [row.id, created]),
          [[ensured[0]!.row.id, false]]
        )
      })
    )

    it.effect("startsWith keeps the names under a prefix, '_' taken literally, in name order", () =>
      Effect.gen(function* () {
        const table = yield* Table
        const module = `m${randomUUID().slice(0, 8)}`
        for (const name of ["a_b.z", "a_b.c", "axb.c", "a_.c"])
          yield* table.insert([{ id: yield* newId, name: `${module}.${name}`, description: "" }])
        const page = yield* table.list({
          after: undefined,
          limit: 10,
          where: [],
          startsWith: [["name", `${module}.a_b.`]]
        })
        assert.deepStrictEqual(
          page.map((row) => row.name),
          [`${module}.a_b.c`, `${module}.a_b.z`]
        )
        // The keyset is the name alone (a NOT NULL unique key): a page after it starts at the next name.
        const next = yield* table.list({
          after: [`${module}.a_b.c`],
          limit: 10,
          where: [],
          startsWith: [["name", `${module}.`]]
        })
        assert.deepStrictEqual(
          next.map((row) => row.name),
          [`${module}.a_b.z`, `${module}.axb.c`]
        )
      })
    )
  })

const KernelPg = Layer.effect(
  Table,
  Effect.gen(function* () {
    return makeEntityTablePg(yield* SqlClient.SqlClient, Permissions, kernelConstraints.permissions)
  })
)
const EntityPg = Layer.effect(
  Table,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(Entity.createTableSql(Tags))
    const catalog = yield* readCatalog(sql, Tags)
    return makeEntityTablePg(sql, Tags, catalog!)
  })
)
const KernelMemory = Layer.effect(
  Table,
  Effect.gen(function* () {
    return makeEntityTableMemory(yield* MemoryStore, Permissions, kernelTableSlot(permissionsTable, Permission))
  })
)
const EntityMemory = Layer.effect(
  Table,
  Effect.gen(function* () {
    return yield* makeEntityStoreMemory(yield* MemoryStore, Tags)
  })
)

describe("the kernel's permissions table on PostgreSQL", () =>
  suite(KernelPg.pipe(Layer.provide(TestDatabase.layer()))))
describe("an entity's table on PostgreSQL", () => suite(EntityPg.pipe(Layer.provide(TestDatabase.layer()))))
describe("the kernel's permissions table in memory", () =>
  suite(KernelMemory.pipe(Layer.provide(MemoryDatabase.layer))))
describe("an entity's table in memory", () => suite(EntityMemory.pipe(Layer.provide(MemoryDatabase.layer))))

describe("the keyset of a declaration", () => {
  it("ends with a NOT NULL one-column unique key alone, else with the primary key", () => {
    assert.deepStrictEqual(Permissions.order, ["name"])
    assert.deepStrictEqual(Tags.order, ["name"])
    class Nullable extends Model.Class<Nullable>("Nullable")({
      id: Model.UuidV4Insert(Schema.String.pipe(Schema.brand("NullableId"))),
      label: Schema.NullOr(Schema.String)
    }) {}
    const declared = Entity.make(Nullable, {
      table: "nullable",
      notFound: TagNotFound,
      keys: { label: TagLabelTaken },
      order: ["label"]
    })
    assert.deepStrictEqual(declared.order, ["label", "id"])
  })
})
