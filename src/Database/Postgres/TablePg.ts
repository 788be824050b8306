import { Effect, Option, Schema } from "effect"
import { type SqlClient, SqlSchema, type Statement } from "effect/sql"
import type { KeyTaken, PageQuery, StoreFailure } from "../Front/RepositoryStore.ts"
import { exactlyOne, keyTakenOn, recoverable } from "./Statements.ts"

const ensureAttempts = 3

/** The columns of `roles` and `permissions`. */
export const namedRowColumns = "id, name, description, created_at"

/**
 * The statements of a table whose rows have a uuid `id` and one more unique key: `users` (`email`), `roles`
 * and `permissions` (`name`). Each statement is one round trip; deletes cascade to the links.
 */
export const makeTablePg = <Row, Insert extends Record<string, unknown>, Id extends string, Key extends string>(
  sql: SqlClient.SqlClient,
  spec: {
    readonly table: "users" | "roles" | "permissions"
    readonly columns: string
    /** The Model, its insert variant, its id and its unique key. */
    readonly Row: Schema.ConstraintDecoder<Row>
    readonly Insert: Schema.ConstraintCodec<Insert, Record<string, unknown>>
    readonly Id: Schema.ConstraintCodec<Id, string>
    readonly Key: Schema.ConstraintCodec<Key, string>
    readonly key: "email" | "name"
  }
) => {
  const table = sql.literal(spec.table)
  const columns = sql.literal(spec.columns)
  const key = sql.literal(spec.key)
  // PostgreSQL's name for the UNIQUE constraint on the key column.
  const keyTaken = keyTakenOn(`${spec.table}_${spec.key}_key`)
  const decodeRows = Schema.decodeUnknownEffect(Schema.Array(spec.Row))

  const insertRow = SqlSchema.findOne({
    Request: spec.Insert,
    Result: spec.Row,
    execute: (row) => sql`INSERT INTO ${table} ${sql.insert(row)} RETURNING ${columns}`
  })

  const insertIfAbsent = SqlSchema.findOneOption({
    Request: spec.Insert,
    Result: spec.Row,
    execute: (row) => sql`INSERT INTO ${table} ${sql.insert(row)} ON CONFLICT (${key}) DO NOTHING RETURNING ${columns}`
  })

  const findById = SqlSchema.findOneOption({
    Request: spec.Id,
    Result: spec.Row,
    execute: (id) => sql`SELECT ${columns} FROM ${table} WHERE id = ${id}`
  })

  const findByKey = SqlSchema.findOneOption({
    Request: spec.Key,
    Result: spec.Row,
    execute: (value) => sql`SELECT ${columns} FROM ${table} WHERE ${key} = ${value}`
  })

  const delete_ = SqlSchema.findOneOption({
    Request: spec.Id,
    Result: spec.Row,
    execute: (id) => sql`DELETE FROM ${table} WHERE id = ${id} RETURNING ${columns}`
  })

  /** A new row; a taken key fails with `KeyTaken`. */
  const insert = (row: Insert): Effect.Effect<Row, KeyTaken | StoreFailure> => keyTaken(exactlyOne(insertRow(row)))

  /**
   * Race-safe get-or-create by the key: when another writer inserted it first, its row is read by a
   * statement of its own (a fresh snapshot under READ COMMITTED, so it sees a row committed concurrently);
   * should that row be deleted in between, the insert is tried again.
   */
  const insertOrGet = (row: Insert): Effect.Effect<Row, StoreFailure> =>
    Effect.gen(function* () {
      for (let attempt = 0; attempt < ensureAttempts; attempt++) {
        const inserted = yield* insertIfAbsent(row)
        if (Option.isSome(inserted)) return inserted.value
        const existing = yield* findByKey(row[spec.key] as Key)
        if (Option.isSome(existing)) return existing.value
      }
      return yield* Effect.die(new Error(`ensure: the row was deleted concurrently ${ensureAttempts} times in a row`))
    })

  /** Sets the columns of `Patch`, in a savepoint when in a transaction (see `recoverable`). */
  const update = <Patch extends Record<string, unknown>>(
    Patch: Schema.ConstraintCodec<Patch, Record<string, unknown>>
  ) => {
    const statement = SqlSchema.findOneOption({
      Request: Schema.Struct({ id: spec.Id, patch: Patch }),
      Result: spec.Row,
      execute: ({ id, patch }) => sql`UPDATE ${table} SET ${sql.update(patch)} WHERE id = ${id} RETURNING ${columns}`
    })
    return (id: Id, patch: Patch): Effect.Effect<Option.Option<Row>, KeyTaken | StoreFailure> =>
      keyTaken(recoverable(sql)(statement({ id, patch })))
  }

  /** At most `limit` rows ordered by `orderBy`, after `after`, that also meet `where`. */
  const list = (
    orderBy: "id" | "name",
    query: PageQuery<string>,
    where: ReadonlyArray<Statement.Fragment> = []
  ): Effect.Effect<ReadonlyArray<Row>, StoreFailure> => {
    const order = sql.literal(orderBy)
    const after = query.after === undefined ? [] : [sql`${order} > ${query.after}`]
    return sql`SELECT ${columns} FROM ${table} WHERE ${sql.and([...after, ...where])}
      ORDER BY ${order} LIMIT ${query.limit}`.pipe(Effect.flatMap(decodeRows))
  }

  return { insert, insertOrGet, findById, findByKey, delete: delete_, update, list }
}
