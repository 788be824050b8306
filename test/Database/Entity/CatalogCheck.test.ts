/**
 * Issue 17: each declared entity is compared with the catalog; every kind of difference is refused with one
 * line naming the table, the column, what was declared and what was found; a matching table passes, and the
 * CREATE TABLE the kit prints gives one.
 */
import { randomBytes } from "node:crypto"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { Model } from "effect/schema"
import { SqlClient } from "effect/sql"
import * as Entity from "../../../src/Database/Entity/EntityKit.ts"
import { TestDatabase } from "../../../src/Database/Testing/TestDatabase.ts"
import { UserId } from "../../../src/Domain/index.ts"

const ThingId = Schema.String.pipe(Schema.check(Schema.isUUID()), Schema.brand("ThingId"))

class Thing extends Model.Class<Thing>("Thing")({
  id: ThingId,
  userId: UserId,
  name: Schema.String,
  note: Schema.NullOr(Schema.String),
  createdAt: Model.DateTimeInsertFromDate
}) {}

class ThingNotFound extends Schema.TaggedError<ThingNotFound>()("ThingNotFound", Entity.NotFoundFields) {}
class ThingNameTaken extends Schema.TaggedError<ThingNameTaken>()("ThingNameTaken", Entity.KeyTakenFields) {}

const thingsIn = (schema: string) =>
  Entity.make(Thing, {
    table: `${schema}.things`,
    notFound: ThingNotFound,
    keys: { name: ThingNameTaken },
    references: { userId: { to: "users", onDelete: "cascade" } },
    order: ["name"]
  })

const matching = `(
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name text NOT NULL UNIQUE,
  note text,
  created_at timestamptz NOT NULL
)`

/** The differences the check finds for a table made by `ddl` (none: no table) in a schema of its own. */
const differencesFor = (ddl: string | undefined) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const schema = `c_${randomBytes(4).toString("hex")}`
    yield* sql.unsafe(`CREATE SCHEMA ${schema}`)
    if (ddl !== undefined) yield* sql.unsafe(`CREATE TABLE ${schema}.things ${ddl}`)
    const lines = yield* Effect.match(Entity.checkSchema(thingsIn(schema)), {
      onSuccess: (): ReadonlyArray<string> => [],
      onFailure: (error) => error.differences
    })
    return { schema, lines }
  })

const refused = (ddl: string | undefined, line: (schema: string) => string) =>
  Effect.gen(function* () {
    const { schema, lines } = yield* differencesFor(ddl)
    assert.deepStrictEqual(lines, [line(schema)])
  })

layer(TestDatabase.layer(), { timeout: "60 seconds" })("the catalog check", (it) => {
  it.effect("a matching table passes", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual((yield* differencesFor(matching)).lines, [])
    })
  )

  it.effect("the CREATE TABLE the kit prints makes a matching table", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const schema = `c_${randomBytes(4).toString("hex")}`
      yield* sql.unsafe(`CREATE SCHEMA ${schema}`)
      const ddl = Entity.createTableSql(thingsIn(schema))
      assert.strictEqual(
        ddl,
        `CREATE TABLE ${schema}.things (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name text NOT NULL,
  note text,
  created_at timestamp with time zone NOT NULL,
  UNIQUE (name)
);
`
      )
      yield* sql.unsafe(ddl)
      yield* Entity.checkSchema(thingsIn(schema))
    })
  )

  it.effect("a missing table", () => refused(undefined, (s) => `${s}.things: table missing (declared by entity Thing)`))

  it.effect("a missing column", () =>
    refused(matching.replace(",\n  note text", ""), (s) => `${s}.things.note: column missing; declared text NULL`)
  )

  it.effect("a wrong type", () =>
    refused(
      matching.replace("name text NOT NULL", "name varchar(20) NOT NULL"),
      (s) => `${s}.things.name: type declared text, found character varying(20)`
    )
  )

  it.effect("a wrong nullability", () =>
    refused(
      matching.replace("note text", "note text NOT NULL"),
      (s) => `${s}.things.note: nullability declared NULL, found NOT NULL`
    )
  )

  it.effect("a missing unique constraint", () =>
    refused(
      matching.replace("name text NOT NULL UNIQUE", "name text NOT NULL"),
      (s) => `${s}.things (name): unique constraint missing; declared key name, found none`
    )
  )

  it.effect("a missing foreign key", () =>
    refused(
      matching.replace(" REFERENCES users (id) ON DELETE CASCADE", ""),
      (s) => `${s}.things.user_id: foreign key missing; declared REFERENCES users(id) ON DELETE CASCADE, found none`
    )
  )

  it.effect("a wrong ON DELETE", () =>
    refused(
      matching.replace("ON DELETE CASCADE", "ON DELETE RESTRICT"),
      (s) => `${s}.things.user_id: ON DELETE declared CASCADE, found RESTRICT`
    )
  )

  it.effect("a NOT NULL column the declaration does not know", () =>
    refused(
      matching.replace("note text,", "note text,\n  extra text NOT NULL,"),
      (s) => `${s}.things.extra: column not declared, found text NOT NULL without a default (inserts would fail)`
    )
  )

  it.effect("a missing primary key", () =>
    refused(
      matching.replace("id uuid PRIMARY KEY", "id uuid NOT NULL"),
      (s) => `${s}.things (id): primary key missing; declared PRIMARY KEY (id)`
    )
  )

  it.effect("an undeclared column that is nullable or has a default is no difference", () =>
    Effect.gen(function* () {
      const ddl = matching.replace("note text,", "note text,\n  extra text,\n  counted int NOT NULL DEFAULT 0,")
      assert.deepStrictEqual((yield* differencesFor(ddl)).lines, [])
    })
  )

  it.effect("several differences give one line each", () =>
    Effect.gen(function* () {
      const { lines } = yield* differencesFor(
        matching.replace("name text NOT NULL UNIQUE", "name int").replace(" ON DELETE CASCADE", " ON DELETE SET NULL")
      )
      assert.strictEqual(lines.length, 4, lines.join("\n"))
    })
  )

  it.effect("the entity's PostgreSQL layer refuses to start on a difference", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const schema = `c_${randomBytes(4).toString("hex")}`
      yield* sql.unsafe(`CREATE SCHEMA ${schema}`)
      class ThingRepository extends Entity.Repository<ThingRepository>()("test/ThingRepository", thingsIn(schema)) {}
      const error = yield* Effect.flip(Layer.build(ThingRepository.layer).pipe(Effect.scoped))
      assert.strictEqual(error._tag, "EntitySchemaMismatch")
      assert.include(error.message, `${schema}.things: table missing`)
    })
  )
})
