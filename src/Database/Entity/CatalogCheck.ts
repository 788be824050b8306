import { Effect, Schema } from "effect"
import type { SqlClient, SqlError } from "effect/sql"
import type { AnyEntity, Column, OnDelete } from "./Entity.ts"

// The declaration against the database's catalog (pg_catalog): columns, types, nullability, unique keys,
// foreign keys and their ON DELETE. One line per difference, naming the table, the column, what was declared
// and what was found; and the CREATE TABLE the declaration expects.

/** An entity's table does not match its declaration: one line per difference. */
export class EntitySchemaMismatch extends Schema.TaggedError<EntitySchemaMismatch>()("EntitySchemaMismatch", {
  entity: Schema.String,
  differences: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `The table of entity ${this.entity} does not match its declaration:\n${this.differences.join("\n")}`
  }
}

/** What the catalog says about one table. */
export interface TableCatalog {
  readonly columns: ReadonlyArray<{
    readonly name: string
    readonly type: string
    readonly notNull: boolean
    readonly hasDefault: boolean
  }>
  /** Unique indexes (constraints included), the primary key among them. */
  readonly uniques: ReadonlyArray<{
    readonly name: string
    readonly columns: ReadonlyArray<string>
    readonly primary: boolean
  }>
  readonly foreignKeys: ReadonlyArray<{
    readonly name: string
    readonly columns: ReadonlyArray<string>
    readonly table: string
    readonly targetColumns: ReadonlyArray<string>
    /** pg_constraint.confdeltype: a no action, r restrict, c cascade, n set null, d set default. */
    readonly onDelete: string
  }>
  /** CHECK constraints and the columns they read (so a violation names its field). */
  readonly checks: ReadonlyArray<{ readonly name: string; readonly columns: ReadonlyArray<string> }>
}

const asStrings = (value: unknown): ReadonlyArray<string> => (Array.isArray(value) ? value.map(String) : [])

/** The catalog of the entity's table; `undefined` when there is no such table. */
export const readCatalog = (
  sql: SqlClient.SqlClient,
  entity: AnyEntity
): Effect.Effect<TableCatalog | undefined, SqlError.SqlError> =>
  Effect.gen(function* () {
    const plain = sql.withoutTransforms()
    const [found] = yield* plain<{ readonly oid: unknown }>`SELECT to_regclass(${entity.qualifiedTable})::oid AS oid`
    if (found === undefined || found.oid === null) return undefined
    const oid = Number(found.oid)
    const columns = yield* plain<Record<string, unknown>>`
      SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
        (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '') AS has_default
      FROM pg_attribute a WHERE a.attrelid = ${oid} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`
    const uniques = yield* plain<Record<string, unknown>>`
      SELECT i.relname AS name, ix.indisprimary AS primary,
        (SELECT json_agg(a.attname ORDER BY k.o) FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(n, o)
          JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.n) AS columns
      FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
      WHERE ix.indrelid = ${oid} AND ix.indisunique AND ix.indpred IS NULL AND ix.indexprs IS NULL`
    const foreignKeys = yield* plain<Record<string, unknown>>`
      SELECT con.conname AS name, con.confrelid::regclass::text AS target, con.confdeltype::text AS on_delete,
        (SELECT json_agg(a.attname ORDER BY k.o) FROM unnest(con.conkey) WITH ORDINALITY AS k(n, o)
          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n) AS columns,
        (SELECT json_agg(a.attname ORDER BY k.o) FROM unnest(con.confkey) WITH ORDINALITY AS k(n, o)
          JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n) AS target_columns
      FROM pg_constraint con WHERE con.conrelid = ${oid} AND con.contype = 'f'`
    const checks = yield* plain<Record<string, unknown>>`
      SELECT con.conname AS name,
        (SELECT json_agg(a.attname ORDER BY k.o) FROM unnest(con.conkey) WITH ORDINALITY AS k(n, o)
          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n) AS columns
      FROM pg_constraint con WHERE con.conrelid = ${oid} AND con.contype = 'c'`
    return {
      columns: columns.map((row) => ({
        name: String(row.name),
        type: String(row.type),
        notNull: row.not_null === true,
        hasDefault: row.has_default === true
      })),
      uniques: uniques.map((row) => ({
        name: String(row.name),
        columns: asStrings(row.columns),
        primary: row.primary === true
      })),
      foreignKeys: foreignKeys.map((row) => ({
        name: String(row.name),
        columns: asStrings(row.columns),
        table: String(row.target),
        targetColumns: asStrings(row.target_columns),
        onDelete: String(row.on_delete)
      })),
      checks: checks.map((row) => ({ name: String(row.name), columns: asStrings(row.columns) }))
    }
  })

// The spelling format_type gives the types the kit derives.
const catalogSpelling: Readonly<Record<string, string>> = {
  timestamptz: "timestamp with time zone",
  timestamp: "timestamp without time zone",
  int: "integer",
  int4: "integer",
  int8: "bigint",
  bool: "boolean",
  float8: "double precision",
  varchar: "character varying"
}
const spelled = (type: string): string => catalogSpelling[type.toLowerCase()] ?? type.toLowerCase()

const onDeleteOf: Readonly<Record<string, string>> = {
  a: "NO ACTION",
  r: "RESTRICT",
  c: "CASCADE",
  n: "SET NULL",
  d: "SET DEFAULT"
}
const declaredOnDelete = (onDelete: OnDelete): string => onDelete.toUpperCase()
// RESTRICT and NO ACTION refuse the same deletes (they differ only for deferred constraints).
const onDeleteMatches = (declared: OnDelete, found: string): boolean =>
  declared === "restrict" ? found === "r" || found === "a" : declared === "cascade" ? found === "c" : found === "n"

const unquoted = (name: string): string => name.replace(/"/g, "")
// A table named unqualified matches it in any schema (the catalog qualifies only names off the search_path).
const sameTable = (declared: string, found: string): boolean => {
  const left = unquoted(declared)
  const right = unquoted(found)
  return left === right || left.split(".").at(-1) === right.split(".").at(-1)
}

const columnText = (column: Column): string => `${column.sqlType}${column.nullable ? " NULL" : " NOT NULL"}`

/** The differences between the declaration and the catalog, one line each; none when they match. */
export const compareWithCatalog = (entity: AnyEntity, catalog: TableCatalog | undefined): ReadonlyArray<string> => {
  const table = unquoted(entity.qualifiedTable)
  if (catalog === undefined) return [`${table}: table missing (declared by entity ${entity.name})`]
  const lines: Array<string> = []
  const found = new Map(catalog.columns.map((column) => [column.name, column]))
  const fieldColumn = new Map(entity.columns.map((column) => [column.field, column.name]))
  for (const column of entity.columns) {
    const actual = found.get(column.name)
    if (actual === undefined) {
      lines.push(`${table}.${column.name}: column missing; declared ${columnText(column)}`)
      continue
    }
    if (spelled(column.sqlType) !== actual.type)
      lines.push(`${table}.${column.name}: type declared ${spelled(column.sqlType)}, found ${actual.type}`)
    if (column.generated && !actual.hasDefault)
      lines.push(`${table}.${column.name}: default declared (made by the database), found none`)
    if (column.nullable === actual.notNull)
      lines.push(
        `${table}.${column.name}: nullability declared ${column.nullable ? "NULL" : "NOT NULL"}, found ${actual.notNull ? "NOT NULL" : "NULL"}`
      )
  }
  const declared = new Set(entity.columns.map((column) => column.name))
  for (const column of catalog.columns) {
    if (!declared.has(column.name) && column.notNull && !column.hasDefault)
      lines.push(
        `${table}.${column.name}: column not declared, found ${column.type} NOT NULL without a default (inserts would fail)`
      )
  }
  const sameColumns = (left: ReadonlyArray<string>, right: ReadonlyArray<string>) =>
    left.length === right.length && left.every((name) => right.includes(name))
  const pk = [fieldColumn.get(entity.primaryKey) ?? entity.primaryKey]
  if (!catalog.uniques.some((unique) => unique.primary && sameColumns(unique.columns, pk)))
    lines.push(`${table} (${pk.join(", ")}): primary key missing; declared PRIMARY KEY (${pk.join(", ")})`)
  for (const key of entity.keys) {
    const columns = key.fields.map((field) => fieldColumn.get(field) ?? field)
    if (!catalog.uniques.some((unique) => sameColumns(unique.columns, columns)))
      lines.push(`${table} (${columns.join(", ")}): unique constraint missing; declared key ${key.name}, found none`)
  }
  for (const reference of entity.references) {
    const column = fieldColumn.get(reference.field) ?? reference.field
    const target = `${reference.table}(${reference.targetColumn})`
    const keys = catalog.foreignKeys.filter((key) => key.columns.length === 1 && key.columns[0] === column)
    const matching = keys.find(
      (key) => sameTable(reference.table, key.table) && key.targetColumns[0] === reference.targetColumn
    )
    if (matching === undefined) {
      const other = keys[0]
      lines.push(
        `${table}.${column}: foreign key missing; declared REFERENCES ${target} ON DELETE ${declaredOnDelete(reference.onDelete)}, found ${
          other === undefined ? "none" : `REFERENCES ${other.table}(${other.targetColumns.join(", ")})`
        }`
      )
    } else if (!onDeleteMatches(reference.onDelete, matching.onDelete))
      lines.push(
        `${table}.${column}: ON DELETE declared ${declaredOnDelete(reference.onDelete)}, found ${onDeleteOf[matching.onDelete] ?? matching.onDelete}`
      )
  }
  return lines
}

/** Compares each entity's table with the catalog; any difference fails with `EntitySchemaMismatch`. */
export const checkEntities = (
  sql: SqlClient.SqlClient,
  entities: ReadonlyArray<AnyEntity>
): Effect.Effect<void, EntitySchemaMismatch | SqlError.SqlError> =>
  Effect.forEach(
    entities,
    (entity) =>
      Effect.flatMap(readCatalog(sql, entity), (catalog) => {
        const differences = compareWithCatalog(entity, catalog)
        return differences.length === 0
          ? Effect.void
          : Effect.fail(new EntitySchemaMismatch({ entity: entity.name, differences }))
      }),
    { discard: true }
  )

/** The CREATE TABLE the declaration expects, to start a migration from. */
export const createTableSql = (entity: AnyEntity): string => {
  const fieldColumn = new Map(entity.columns.map((column) => [column.field, column.name]))
  const lines = entity.columns.map((column) => {
    const reference = entity.references.find((candidate) => candidate.field === column.field)
    const references =
      reference === undefined
        ? ""
        : ` REFERENCES ${reference.table} (${reference.targetColumn}) ON DELETE ${declaredOnDelete(reference.onDelete)}`
    const primary = column.field === entity.primaryKey ? " PRIMARY KEY" : column.nullable ? "" : " NOT NULL"
    const fallback = column.generated ? (column.sqlType === "timestamptz" ? " DEFAULT now()" : " DEFAULT /* ? */") : ""
    return `  ${column.name} ${spelled(column.sqlType)}${primary}${fallback}${references}`
  })
  for (const key of entity.keys)
    lines.push(`  UNIQUE (${key.fields.map((field) => fieldColumn.get(field) ?? field).join(", ")})`)
  return `CREATE TABLE ${entity.qualifiedTable} (\n${lines.join(",\n")}\n);\n`
}
