import { Array as Arr, Effect, Option, Predicate, Schema, type Scope } from "effect"
import { type SqlClient, SqlError, Statement } from "effect/sql"
import type { Changed, Ensured, StoreFailure } from "../Front/RepositoryStore.ts"
import { makeAuditLogStorePg } from "../Postgres/AuditLogStorePg.ts"
import { batchedLookup, type OrdinalRow } from "../Postgres/BatchedLookup.ts"
import { quoteIdentifier } from "../Postgres/Identifiers.ts"
import type { TableCatalog } from "./CatalogCheck.ts"
import { type AnyEntity, columnName, type ResolvedReference, type UniqueKey } from "./Entity.ts"
import { entityRowDecoders } from "./EntityRows.ts"
import {
  type EncodedRow,
  EntityBadValue,
  EntityKeyTaken,
  type EntityPageQuery,
  EntityReferenceMissing,
  EntityStillReferenced,
  type EntityStore,
  type EntityTable,
  type EntityWriteFailure
} from "./EntityStore.ts"

const ensureAttempts = 3

/** The fields PostgreSQL reports with a server error (the driver keeps them on the reason's cause). */
interface ServerError {
  readonly code?: string
  readonly constraint?: string
  readonly column?: string
  readonly table?: string
  readonly detail?: string
  readonly message?: string
}

const serverErrorOf = (error: SqlError.SqlError): ServerError | undefined => {
  const cause = error.reason.cause
  return Predicate.hasProperty(cause, "severity") && Predicate.hasProperty(cause, "code")
    ? (cause as ServerError)
    : undefined
}

// Values the server refuses for their form: a malformed uuid or date, a number out of range, a text too long,
// a NULL in a NOT NULL column, a CHECK, a value too large for an index (a unique key of several kB).
const badValueStates: ReadonlySet<string> = new Set([
  "22P02",
  "22007",
  "22008",
  "22003",
  "22001",
  "23502",
  "23514",
  "54000"
])

// `Key (user_id)=(0190...) is not present in table "users".`: the value the reference did not find.
const referencedValue = (detail: string | undefined): string =>
  /\)=\((.*)\) is not present/.exec(detail ?? "")?.[1] ?? ""

const camelOf = (column: string): string => column.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase())

/** The constraints of a table the store maps violations with: the catalog's, or names a migration gave them. */
export type EntityConstraints = Pick<TableCatalog, "uniques" | "foreignKeys" | "checks">

/**
 * The statements of one declared entity's table, built once: its columns selected under their field names (so
 * the rows decode with the Model whatever the client's name transforms), `findById` batched like the kernel's.
 * The constraint names come from the catalog (checked before) or from the migration that made the table, so a
 * violation maps to the key or the reference it broke. `decode` may replace the Model as the rows' decoder (a
 * trusted decoder giving the very same values, as the kernel's own tables use).
 */
export const makeEntityTablePg = <E extends AnyEntity>(
  sql: SqlClient.SqlClient,
  entity: E,
  catalog: EntityConstraints,
  options?: {
    readonly decode?: Schema.Decoder<E["Model"]["Type"]>
    /** Where the lag-tolerant reads (by id, by key, pages) go: the replicas' client (see `ReadReplicas`). */
    readonly reads?: SqlClient.SqlClient
  }
): EntityTable<E["Model"]["Type"]> => {
  type Row = E["Model"]["Type"]
  const table = sql.literal(entity.qualifiedTable)
  const selectList = (prefix: string) =>
    entity.columns.map((column) => `${prefix}${quoteIdentifier(column.name)} AS "${column.field}"`).join(", ")
  const columns = sql.literal(selectList(""))
  const typeOf = new Map(entity.columns.map((column) => [column.field, column.sqlType]))
  const pk = quoteIdentifier(columnName(entity.primaryKey))
  const pkColumn = sql.literal(pk)
  const reads = options?.reads ?? sql
  // The Model's rows decoded field by field, as decided once here (EntityRows.ts), else by the given decoder.
  const { decodeRow, decodeRows } =
    options?.decode === undefined
      ? entityRowDecoders(entity)
      : {
          decodeRow: Schema.decodeUnknownEffect(options.decode),
          decodeRows: Schema.decodeUnknownEffect(Schema.Array(options.decode))
        }

  // Constraint name -> what it guards, from the catalog.
  const keyByConstraint = new Map<string, UniqueKey>()
  for (const key of entity.keys) {
    const keyColumns = key.fields.map(columnName)
    for (const unique of catalog.uniques)
      if (unique.columns.length === keyColumns.length && keyColumns.every((name) => unique.columns.includes(name)))
        keyByConstraint.set(unique.name, key)
  }
  const referenceByConstraint = new Map<string, ResolvedReference>()
  for (const reference of entity.references)
    for (const foreignKey of catalog.foreignKeys)
      if (foreignKey.columns.length === 1 && foreignKey.columns[0] === columnName(reference.field))
        referenceByConstraint.set(foreignKey.name, reference)

  const checkColumn = new Map(
    catalog.checks.flatMap((check) => (check.columns[0] === undefined ? [] : [[check.name, check.columns[0]] as const]))
  )

  /** The failures of a write in the store's terms; other SQL errors (transient ones included) go on. */
  const writeFailure = <A, R>(
    statement: Effect.Effect<A, StoreFailure, R>
  ): Effect.Effect<A, StoreFailure | EntityWriteFailure, R> =>
    Effect.catch(statement, (error): Effect.Effect<never, StoreFailure | EntityWriteFailure> => {
      const server = SqlError.isSqlError(error) ? serverErrorOf(error) : undefined
      if (server === undefined) return Effect.fail(error)
      const constraint = server.constraint ?? ""
      switch (server.code) {
        case "23505": {
          const key = keyByConstraint.get(constraint)
          return key === undefined ? Effect.fail(error) : Effect.fail(new EntityKeyTaken({ key }))
        }
        case "23503": {
          const reference = referenceByConstraint.get(constraint)
          return reference === undefined
            ? Effect.fail(new EntityStillReferenced({ by: server.table ?? "another table" }))
            : Effect.fail(new EntityReferenceMissing({ reference, id: referencedValue(server.detail) }))
        }
        default:
          return server.code !== undefined && badValueStates.has(server.code)
            ? Effect.fail(
                new EntityBadValue({
                  field: camelOf(server.column ?? checkColumn.get(constraint) ?? "input"),
                  rule: server.message ?? "is refused by the database"
                })
              )
            : Effect.fail(error)
      }
    })

  // Each field's column, worked out once rather than for every row written.
  const columnOfField = new Map(entity.columns.map((column) => [column.field, column.name]))
  const snakeKeys = (row: EncodedRow): Record<string, unknown> => {
    const out: Record<string, unknown> = {}
    for (const field in row) out[columnOfField.get(field) ?? columnName(field)] = row[field]
    return out
  }

  // A one-row INSERT (every `create`) is the same text for the same fields: made once per set of fields (the
  // Model's insert variant gives one or a few), the very text `sql.insert` would compile, so only the values are
  // bound per call. Several rows go through `sql.insert`.
  const escapeColumn = Statement.defaultEscape('"')
  const insertText = new Map<string, string>()
  const insertTextOf = (fields: ReadonlyArray<string>) => {
    const signature = fields.join(",")
    let text = insertText.get(signature)
    if (text === undefined) {
      const names = fields.map((field) => escapeColumn(columnOfField.get(field) ?? columnName(field)))
      const placeholders = fields.map((_, index) => `$${index + 1}`)
      text = `INSERT INTO ${entity.qualifiedTable} (${names.join(",")}) VALUES (${placeholders.join(",")}) RETURNING ${selectList("")}`
      insertText.set(signature, text)
    }
    return text
  }
  const insertOne = (row: EncodedRow) => {
    const fields = Object.keys(row)
    // As `sql.insert` binds them: an undefined value is NULL.
    const values = fields.map((field) => row[field] ?? null)
    return sql.unsafe<Record<string, unknown>>(insertTextOf(fields), values).withoutTransform
  }

  const insert = (rows: Arr.NonEmptyReadonlyArray<EncodedRow>) =>
    writeFailure(
      Effect.flatMap(
        rows.length === 1
          ? insertOne(rows[0])
          : sql`INSERT INTO ${table} ${sql.insert(Arr.map(rows, snakeKeys))} RETURNING ${columns}`.withoutTransform,
        // One row (a create) without the array decoder around it.
        (returned) => (returned.length === 1 ? Effect.map(decodeRow(returned[0]), Arr.of) : decodeRows(returned))
      )
    )

  // The two statements of findById, written once: a call binds its id (or a batch its array of ids) only.
  const findManyText = `SELECT q.ord, ${selectList("t.")}
          FROM unnest($1::${typeOf.get(entity.primaryKey) ?? "text"}[]) WITH ORDINALITY AS q(id, ord) JOIN ${entity.qualifiedTable} t ON t.${pk} = q.id`
  const findOneText = `SELECT 1 AS ord, ${selectList("")} FROM ${entity.qualifiedTable} WHERE ${pk} = $1`
  const findById = batchedLookup(reads, {
    execute: (ids: Arr.NonEmptyReadonlyArray<string>) => reads.unsafe<OrdinalRow>(findManyText, [ids]).withoutTransform,
    executeOne: (id) => reads.unsafe<OrdinalRow>(findOneText, [id]).withoutTransform,
    decode: decodeRow
  })

  const columnOf = (field: string) => sql.literal(quoteIdentifier(columnName(field)))
  const equals = (field: string, value: unknown) => sql`${columnOf(field)} = ${value}`

  const findByKey = (key: UniqueKey, values: ReadonlyArray<unknown>) =>
    reads`SELECT ${columns} FROM ${table} WHERE ${sql.and(key.fields.map((field, index) => equals(field, values[index])))}`.withoutTransform.pipe(
      Effect.flatMap((rows) => (rows[0] === undefined ? Effect.succeedNone : Effect.asSome(decodeRow(rows[0]))))
    )

  // A key's values as its UNIQUE constraint compares them (uuids in PostgreSQL's lower-case text form).
  const keyValue = (key: UniqueKey, row: EncodedRow | Record<string, unknown>) =>
    JSON.stringify(
      key.fields.map((field) => {
        const value = row[field]
        return value instanceof Date
          ? value.getTime()
          : typeOf.get(field) === "uuid"
            ? String(value).toLowerCase()
            : value
      })
    )

  const insertIfAbsent = (key: UniqueKey, rows: Arr.NonEmptyReadonlyArray<EncodedRow>) =>
    sql<Record<string, unknown>>`INSERT INTO ${table} ${sql.insert(Arr.map(rows, snakeKeys))}
        ON CONFLICT (${sql.literal(key.fields.map((field) => quoteIdentifier(columnName(field))).join(", "))}) DO NOTHING
        RETURNING ${columns}`.withoutTransform

  const findByKeys = (key: UniqueKey, rows: ReadonlyArray<EncodedRow>) =>
    key.fields.length === 1
      ? sql<Record<string, unknown>>`SELECT ${columns} FROM ${table} WHERE ${sql.in(
          columnName(key.fields[0]!),
          rows.map((row) => row[key.fields[0]!])
        )}`.withoutTransform
      : sql<Record<string, unknown>>`SELECT ${columns} FROM ${table} WHERE ${sql.or(
          rows.map((row) => sql.and(key.fields.map((field) => equals(field, row[field]))))
        )}`.withoutTransform

  /**
   * One statement inserting the absent rows, one reading those another writer inserted first (a statement of
   * its own is a fresh snapshot under READ COMMITTED, so it sees rows committed concurrently); should such a
   * row be deleted in between, its insert is tried again.
   */
  const insertOrGet = (key: UniqueKey, rows: Arr.NonEmptyReadonlyArray<EncodedRow>) =>
    writeFailure(
      Effect.gen(function* () {
        const ensured = new Map<string, { readonly raw: Record<string, unknown>; readonly created: boolean }>()
        let pending: ReadonlyArray<EncodedRow> = rows
        for (let attempt = 0; attempt < ensureAttempts && Arr.isReadonlyArrayNonEmpty(pending); attempt++) {
          for (const raw of yield* insertIfAbsent(key, pending)) ensured.set(keyValue(key, raw), { raw, created: true })
          const missing = pending.filter((row) => !ensured.has(keyValue(key, row)))
          if (missing.length > 0)
            for (const raw of yield* findByKeys(key, missing)) ensured.set(keyValue(key, raw), { raw, created: false })
          pending = missing.filter((row) => !ensured.has(keyValue(key, row)))
        }
        if (pending.length > 0)
          return yield* Effect.die(
            new Error(`${entity.name}: a row was deleted concurrently ${ensureAttempts} times in a row`)
          )
        return yield* Effect.forEach(rows, (row) => {
          const { raw, created } = ensured.get(keyValue(key, row))!
          return Effect.map(decodeRow(raw), (decoded): Ensured<Row> => ({ row: decoded, created }))
        })
      })
    )

  const orderColumns = entity.order.map((field) => quoteIdentifier(columnName(field)))
  const orderBy = sql.literal(orderColumns.join(", "))
  const orderTuple = sql.literal(orderColumns.length === 1 ? orderColumns[0]! : `(${orderColumns.join(", ")})`)
  const list = (query: EntityPageQuery) => {
    const afterValues = entity.order.map(
      (field, index) => sql`${query.after?.[index]}::${sql.literal(typeOf.get(field) ?? "text")}`
    )
    const after =
      query.after === undefined
        ? []
        : afterValues.length === 1
          ? [sql`${orderTuple} > ${afterValues[0]!}`]
          : [sql`${orderTuple} > (${sql.csv(afterValues)})`]
    const where = query.where.map(([field, value]) => equals(field, value))
    // starts_with rather than LIKE: the prefix may hold '_' or '%', LIKE's wildcards.
    const prefixed = (query.startsWith ?? []).map(([field, prefix]) => sql`starts_with(${columnOf(field)}, ${prefix})`)
    return reads`SELECT ${columns} FROM ${table} WHERE ${sql.and([...after, ...where, ...prefixed])}
        ORDER BY ${orderBy} LIMIT ${query.limit}`.withoutTransform.pipe(Effect.flatMap(decodeRows))
  }

  const update = (id: string, changes: EncodedRow) =>
    writeFailure(
      Effect.gen(function* () {
        const rows = yield* sql<{ readonly version: "before" | "after" }>`
            WITH previous AS (SELECT ${columns} FROM ${table} WHERE ${pkColumn} = ${id} FOR UPDATE),
              updated AS (
                UPDATE ${table} SET ${sql.update(snakeKeys(changes))}
                WHERE ${pkColumn} IN (SELECT ${sql.literal(`"${entity.primaryKey}"`)} FROM previous)
                RETURNING ${columns}
              )
            SELECT 'before' AS version, * FROM previous UNION ALL SELECT 'after' AS version, * FROM updated`
          .withoutTransform
        const before = rows.find((row) => row.version === "before")
        const after = rows.find((row) => row.version === "after")
        if (before === undefined || after === undefined) return Option.none<Changed<Row>>()
        return Option.some({ before: yield* decodeRow(before), after: yield* decodeRow(after) })
      })
    )

  const delete_ = (id: string) =>
    writeFailure(
      sql`DELETE FROM ${table} WHERE ${pkColumn} = ${id} RETURNING ${columns}`.withoutTransform.pipe(
        Effect.flatMap((rows) => (rows[0] === undefined ? Effect.succeedNone : Effect.asSome(decodeRow(rows[0]))))
      )
    )

  return { insert, insertOrGet, findById, findByKey, list, update, delete: delete_ }
}

/**
 * The entity's table (`makeEntityTablePg`) with the kernel's audit store and transactions; lag-tolerant reads
 * (by id, by key, pages and streams, audit pages) on `reads` (the replicas' client, see `ReadReplicas`).
 */
export const makeEntityStorePg = <E extends AnyEntity>(
  sql: SqlClient.SqlClient,
  entity: E,
  catalog: EntityConstraints,
  reads: SqlClient.SqlClient = sql
): Effect.Effect<EntityStore<E["Model"]["Type"]>, never, Scope.Scope> =>
  Effect.map(
    makeAuditLogStorePg(sql, reads),
    (auditLogs): EntityStore<E["Model"]["Type"]> => ({
      ...makeEntityTablePg(sql, entity, catalog, { reads }),
      auditLogs,
      transaction: sql.withTransaction
    })
  )
