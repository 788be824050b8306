import { Effect, Option, type Schema } from "effect"
import { type SqlClient, SqlSchema } from "effect/sql"
import { checkId, type IdRule } from "../Repositories/RepositoryInputs.ts"
import { ensureByName } from "./EnsureByName.ts"
import { recoverable } from "./Savepoint.ts"
import { mapSqlErrors } from "./SqlErrors.ts"

/**
 * The statements and lookups shared by the tables of named rows, `roles` and `permissions`: the columns
 * `id, name, description, created_at`, the name unique. `operation` names each call for its errors.
 */
export const makeNamedRows = <
  Row,
  Insert extends { readonly name: Name },
  Id extends string,
  Name extends string,
  NotFound,
  NameTaken
>(
  sql: SqlClient.SqlClient,
  spec: {
    readonly table: "roles" | "permissions"
    /** The Model, its insert variant, its id and its name. */
    readonly Row: Schema.ConstraintDecoder<Row>
    readonly Insert: Schema.ConstraintCodec<Insert, Record<string, unknown>>
    readonly Id: Schema.ConstraintCodec<Id, string>
    readonly Name: Schema.ConstraintCodec<Name, string>
    readonly idRule: IdRule<Id, NotFound>
    readonly nameNotFound: (name: Name) => NotFound
    readonly nameTaken: (name: Name) => NameTaken
  }
) => {
  const table = sql.literal(spec.table)
  const columns = sql.literal("id, name, description, created_at")
  // PostgreSQL's name for the UNIQUE constraint on the name column.
  const nameKey = `${spec.table}_name_key`
  const inSavepoint = recoverable(sql)

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

  const selectById = SqlSchema.findOneOption({
    Request: spec.Id,
    Result: spec.Row,
    execute: (id) => sql`SELECT ${columns} FROM ${table} WHERE id = ${id}`
  })

  const selectByName = SqlSchema.findOneOption({
    Request: spec.Name,
    Result: spec.Row,
    execute: (name) => sql`SELECT ${columns} FROM ${table} WHERE name = ${name}`
  })

  /** Inserts `row`; a taken name fails with `nameTaken`, recoverably inside a caller's transaction. */
  const create = (operation: string, row: Insert) =>
    inSavepoint(insert(row)).pipe(
      Effect.catchTag("NoSuchElementError", Effect.die),
      mapSqlErrors(operation, { [nameKey]: () => spec.nameTaken(row.name) })
    )

  /** The row of `row`'s name, inserted as `row` when there is none; an existing one is returned unchanged. */
  const ensure = (operation: string, row: Insert) =>
    ensureByName(insertIfAbsent(row), selectByName(row.name)).pipe(mapSqlErrors(operation))

  const findById = (operation: string, id: string) =>
    Effect.gen(function* () {
      const validId = yield* checkId(spec.idRule, id)
      const found = yield* selectById(validId).pipe(mapSqlErrors(operation))
      if (Option.isNone(found)) return yield* Effect.fail(spec.idRule.notFound(validId))
      return found.value
    })

  const findByName = (operation: string, name: Name) =>
    Effect.gen(function* () {
      const found = yield* selectByName(name).pipe(mapSqlErrors(operation))
      if (Option.isNone(found)) return yield* Effect.fail(spec.nameNotFound(name))
      return found.value
    })

  return { create, ensure, findById, findByName }
}
