import { Effect, Option, Schema } from "effect"
import { type SqlClient, SqlSchema } from "effect/sql"
import type { KeyTaken, StoreFailure } from "../Front/RepositoryStore.ts"
import { exactlyOne, keyTakenOn, recoverable } from "./Statements.ts"

const ensureAttempts = 3

/** The columns of `roles` and `permissions`. */
export const namedRowColumns = "id, name, description, created_at"

/**
 * What `roles` and `permissions` share: the columns `id, name, description, created_at`, the name unique
 * (constraint `<table>_name_key`), deletes cascading to their links.
 */
export const makeNamedRowStorePg = <
  Row,
  Insert extends { readonly name: Name },
  Id extends string,
  Name extends string
>(
  sql: SqlClient.SqlClient,
  spec: {
    readonly table: "roles" | "permissions"
    /** The Model, its insert variant, its id and its name. */
    readonly Row: Schema.ConstraintDecoder<Row>
    readonly Insert: Schema.ConstraintCodec<Insert, Record<string, unknown>>
    readonly Id: Schema.ConstraintCodec<Id, string>
    readonly Name: Schema.ConstraintCodec<Name, string>
  }
) => {
  const table = sql.literal(spec.table)
  const columns = sql.literal(namedRowColumns)
  const nameTaken = keyTakenOn(`${spec.table}_name_key`)

  const insert = SqlSchema.findOne({
    Request: spec.Insert,
    Result: spec.Row,
    execute: (row) => sql`INSERT INTO ${table} ${sql.insert(row)} RETURNING ${columns}`
  })

  const insertIfAbsent = SqlSchema.findOneOption({
    Request: spec.Insert,
    Result: spec.Row,
    execute: (row) => sql`INSERT INTO ${table} ${sql.insert(row)} ON CONFLICT (name) DO NOTHING RETURNING ${columns}`
  })

  const findById = SqlSchema.findOneOption({
    Request: spec.Id,
    Result: spec.Row,
    execute: (id) => sql`SELECT ${columns} FROM ${table} WHERE id = ${id}`
  })

  const findByName = SqlSchema.findOneOption({
    Request: spec.Name,
    Result: spec.Row,
    execute: (name) => sql`SELECT ${columns} FROM ${table} WHERE name = ${name}`
  })

  const delete_ = SqlSchema.findOneOption({
    Request: spec.Id,
    Result: Schema.Struct({ id: spec.Id, name: Schema.String }),
    execute: (id) => sql`DELETE FROM ${table} WHERE id = ${id} RETURNING id, name`
  })

  /**
   * Race-safe get-or-create: when another writer inserted the name first, its row is read by a statement of
   * its own (a fresh snapshot under READ COMMITTED, so it sees a row committed concurrently); should that row
   * be deleted in between, the insert is tried again.
   */
  const insertOrGet = (row: Insert): Effect.Effect<Row, StoreFailure> =>
    Effect.gen(function* () {
      for (let attempt = 0; attempt < ensureAttempts; attempt++) {
        const inserted = yield* insertIfAbsent(row)
        if (Option.isSome(inserted)) return inserted.value
        const existing = yield* findByName(row.name)
        if (Option.isSome(existing)) return existing.value
      }
      return yield* Effect.die(new Error(`ensure: the row was deleted concurrently ${ensureAttempts} times in a row`))
    })

  return {
    insert: (row: Insert): Effect.Effect<Row, KeyTaken | StoreFailure> =>
      nameTaken(recoverable(sql)(exactlyOne(insert(row)))),
    insertOrGet,
    findById,
    findByName,
    delete: delete_
  }
}
