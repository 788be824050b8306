import { Effect, Option, Schema } from "effect"
import { type SqlClient, SqlSchema, type Statement } from "effect/sql"
import type { Changed, KeyTaken, PageQuery, StoreFailure } from "../Front/RepositoryStore.ts"
import { exactlyOne, keyTakenOn } from "./Statements.ts"

/**
 * The statements of a table whose rows have a uuid `id` and one more unique key: `users` (`email`, citext).
 * Each statement is one round trip; deletes cascade to the links. (`roles` and `permissions` are the entity
 * kit's tables: Entity/KernelEntities.ts.)
 */
export const makeTablePg = <Row, Insert extends Record<string, unknown>, Id extends string, Key extends string>(
  sql: SqlClient.SqlClient,
  spec: {
    readonly table: "users"
    readonly columns: string
    /** The Model, its insert variant, its id and its unique key. */
    readonly Row: Schema.ConstraintDecoder<Row>
    readonly Insert: Schema.ConstraintCodec<Insert, Record<string, unknown>>
    readonly Id: Schema.ConstraintCodec<Id, string>
    readonly Key: Schema.ConstraintCodec<Key, string>
    readonly key: "email"
  },
  /** Where the lag-tolerant reads (by id, by key, pages) go: the replicas' client, or `sql` (see `ReadReplicas`). */
  reads: SqlClient.SqlClient = sql
) => {
  const table = sql.literal(spec.table)
  const columns = sql.literal(spec.columns)
  const key = sql.literal(spec.key)
  // PostgreSQL's name for the UNIQUE constraint on the key column.
  const keyTaken = keyTakenOn(`${spec.table}_${spec.key}_key`)
  const decodeRows = Schema.decodeUnknownEffect(Schema.Array(spec.Row))
  const decodeRow = Schema.decodeUnknownEffect(spec.Row)

  const insertRow = SqlSchema.findOne({
    Request: spec.Insert,
    Result: spec.Row,
    execute: (row) => sql`INSERT INTO ${table} ${sql.insert(row)} RETURNING ${columns}`
  })

  const findById = SqlSchema.findOneOption({
    Request: spec.Id,
    Result: spec.Row,
    execute: (id) => reads`SELECT ${columns} FROM ${table} WHERE id = ${id}`
  })

  const findByKey = SqlSchema.findOneOption({
    Request: spec.Key,
    Result: spec.Row,
    execute: (value) => reads`SELECT ${columns} FROM ${table} WHERE ${key} = ${value}`
  })

  const delete_ = SqlSchema.findOneOption({
    Request: spec.Id,
    Result: spec.Row,
    execute: (id) => sql`DELETE FROM ${table} WHERE id = ${id} RETURNING ${columns}`
  })

  /** A new row; a taken key fails with `KeyTaken`. */
  const insert = (row: Insert): Effect.Effect<Row, KeyTaken | StoreFailure> => keyTaken(exactlyOne(insertRow(row)))

  /**
   * Sets the columns of `Patch` and returns the row before and after, in one statement: the row is locked
   * and read, then updated. Inside the caller's transaction (the front's audited change), so a taken key
   * rolls back with it.
   */
  const update = <Patch extends Record<string, unknown>>(
    Patch: Schema.ConstraintCodec<Patch, Record<string, unknown>>
  ) => {
    const encodePatch = Schema.encodeEffect(Patch)
    return (id: Id, patch: Patch): Effect.Effect<Option.Option<Changed<Row>>, KeyTaken | StoreFailure> =>
      Effect.gen(function* () {
        const rows = yield* sql<{ readonly version: "before" | "after" }>`
          WITH previous AS (SELECT ${columns} FROM ${table} WHERE id = ${id} FOR UPDATE),
            updated AS (
              UPDATE ${table} SET ${sql.update(yield* encodePatch(patch))} WHERE id IN (SELECT id FROM previous)
              RETURNING ${columns}
            )
          SELECT 'before' AS version, * FROM previous UNION ALL SELECT 'after' AS version, * FROM updated`
        const before = rows.find((row) => row.version === "before")
        const after = rows.find((row) => row.version === "after")
        if (before === undefined || after === undefined) return Option.none()
        return Option.some({ before: yield* decodeRow(before), after: yield* decodeRow(after) })
      }).pipe(keyTaken)
  }

  /** At most `limit` rows ordered by `orderBy`, after `after`, that also meet `where`. */
  const list = (
    orderBy: "id",
    query: PageQuery<string>,
    where: ReadonlyArray<Statement.Fragment> = []
  ): Effect.Effect<ReadonlyArray<Row>, StoreFailure> => {
    const order = sql.literal(orderBy)
    const after = query.after === undefined ? [] : [sql`${order} > ${query.after}`]
    return reads`SELECT ${columns} FROM ${table} WHERE ${sql.and([...after, ...where])}
      ORDER BY ${order} LIMIT ${query.limit}`.pipe(Effect.flatMap(decodeRows))
  }

  return { insert, findById, findByKey, delete: delete_, update, list }
}
