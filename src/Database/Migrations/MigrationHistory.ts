import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { AppliedMigration } from "./MigrationDrift.ts"

interface HistoryRow {
  readonly migration_id: number
  readonly name: string
  readonly created_at: Date
  readonly sha256: string | null
}

/** Adds the checksum column Effect's migrations table lacks; idempotent. */
export const ensureChecksumColumn = (table: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`ALTER TABLE ${sql(table)} ADD COLUMN IF NOT EXISTS sha256 text`.withoutTransform
  })

/** The migrations recorded in `table`; none when the table does not exist yet. */
export const readAppliedMigrations = Effect.fn("readAppliedMigrations")(function* (table: string) {
  const sql = yield* SqlClient.SqlClient
  const [found] = yield* sql<{
    readonly tableExists: boolean
    readonly hasChecksum: boolean
  }>`SELECT to_regclass(${table}) IS NOT NULL AS "tableExists",
            EXISTS (SELECT 1 FROM information_schema.columns
                    WHERE table_schema = current_schema() AND table_name = ${table} AND column_name = 'sha256') AS "hasChecksum"`
    .withoutTransform
  if (found === undefined || !found.tableExists) return [] as ReadonlyArray<AppliedMigration>
  const rows = found.hasChecksum
    ? yield* sql<HistoryRow>`SELECT migration_id, name, created_at, sha256 FROM ${sql(table)} ORDER BY migration_id`
        .withoutTransform
    : yield* sql<HistoryRow>`SELECT migration_id, name, created_at, NULL AS sha256 FROM ${sql(table)} ORDER BY migration_id`
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

export const recordChecksum = (table: string, id: number, sha256: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`UPDATE ${sql(table)} SET sha256 = ${sha256} WHERE migration_id = ${id}`.withoutTransform
  })
