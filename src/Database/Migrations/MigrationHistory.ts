import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { MigrationError } from "effect/sql/Migrator"
import type { AppliedMigration } from "./MigrationDrift.ts"

/** Where a migration history is kept: a table in `schema`, or, without one, on the search_path. */
export interface HistoryTable {
  readonly table: string
  readonly schema?: string | undefined
}

/**
 * `schema.table` or `table`. The SQL client's identifier escaping splits at the dot and quotes each part
 * (`"schema"."table"`), which is also how Effect's migrator quotes the `table` it is given; the parts are
 * validated identifiers, so a dot never comes from inside one.
 */
export const qualifiedName = (history: HistoryTable): string =>
  history.schema === undefined ? history.table : `${history.schema}.${history.table}`

/** The quoted name, as `to_regclass` must see it (an unquoted name would be folded to lower case). */
const quotedName = (sql: SqlClient.SqlClient, name: string): string => sql`${sql(name)}`.compile(true)[0]

interface HistoryRow {
  readonly migration_id: number
  readonly name: string
  readonly created_at: Date
  readonly sha256: string | null
}

/**
 * Creates `schema` when it does not exist. Checked first, so a role that may use a schema made for it by
 * an administrator but may not create schemas still runs; concurrent first starts may both try to create
 * it, and the loser finds it made.
 */
export const ensureSchema = (schema: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const quoted = quotedName(sql, schema)
    const exists = Effect.map(
      sql<{ readonly found: boolean }>`SELECT to_regnamespace(${quoted}) IS NOT NULL AS found`.withoutTransform,
      (rows) => rows[0]?.found === true
    )
    if (yield* exists) return
    yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(schema)}`.withoutTransform.pipe(
      Effect.asVoid,
      Effect.catch((cause) =>
        Effect.flatMap(exists, (found) =>
          found
            ? Effect.void
            : Effect.fail(new MigrationError({ kind: "Failed", message: `cannot create the schema ${schema}`, cause }))
        )
      )
    )
  })

/**
 * Puts `schema` first on the search_path until the end of the current transaction (`SET LOCAL`), so the
 * migration files create their objects there and still find everything else (the kernel's tables) after it.
 */
export const searchSchemaFirst = (schema: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const quoted = quotedName(sql, schema)
    yield* sql`SELECT set_config('search_path', ${quoted} || ', ' || current_setting('search_path'), true)`
      .withoutTransform
  })

/** Adds the checksum column Effect's migrations table lacks; idempotent. */
export const ensureChecksumColumn = (history: HistoryTable) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`ALTER TABLE ${sql(qualifiedName(history))} ADD COLUMN IF NOT EXISTS sha256 text`.withoutTransform
  })

/** The migrations recorded in the history table; none when the table does not exist yet. */
export const readAppliedMigrations = Effect.fn("readAppliedMigrations")(function* (history: HistoryTable) {
  const sql = yield* SqlClient.SqlClient
  const name = qualifiedName(history)
  const [found] = yield* sql<{
    readonly tableExists: boolean
    readonly hasChecksum: boolean
  }>`SELECT to_regclass(${quotedName(sql, name)}) IS NOT NULL AS "tableExists",
            EXISTS (SELECT 1 FROM pg_attribute
                    WHERE attrelid = to_regclass(${quotedName(sql, name)}) AND attname = 'sha256'
                      AND NOT attisdropped) AS "hasChecksum"`.withoutTransform
  if (found === undefined || !found.tableExists) return [] as ReadonlyArray<AppliedMigration>
  const rows = found.hasChecksum
    ? yield* sql<HistoryRow>`SELECT migration_id, name, created_at, sha256 FROM ${sql(name)} ORDER BY migration_id`
        .withoutTransform
    : yield* sql<HistoryRow>`SELECT migration_id, name, created_at, NULL AS sha256 FROM ${sql(name)} ORDER BY migration_id`
        .withoutTransform
  return rows.map(
    (row): AppliedMigration => ({
      id: row.migration_id,
      name: row.name,
      appliedAt: row.created_at,
      sha256: row.sha256
    })
  )
})

export const recordChecksum = (history: HistoryTable, id: number, sha256: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`UPDATE ${sql(qualifiedName(history))} SET sha256 = ${sha256} WHERE migration_id = ${id}`.withoutTransform
  })
