import type { MigrationFile } from "./MigrationFiles.ts"

/** A migration as recorded in the migrations table. */
export interface AppliedMigration {
  readonly id: number
  readonly name: string
  readonly appliedAt: Date
  /** Null for rows recorded before checksums were kept. */
  readonly sha256: string | null
}

/** An applied file `changed` (checksum) or `missing`, or a pending file `outOfOrder` (id below the latest applied). */
export type DriftKind = "changed" | "missing" | "outOfOrder"

/** A difference between the migration files and the history that stops migrating: see `DriftKind`. */
export interface Drift {
  readonly kind: DriftKind
  readonly id: number
  readonly name: string
  readonly message: string
}

/**
 * Effect's migrator only runs ids above the latest applied one and never looks back; these are the cases it
 * would silently accept: an applied file edited or deleted, and a new file slotted below the latest id.
 */
export const detectDrift = (
  files: ReadonlyArray<MigrationFile>,
  applied: ReadonlyArray<AppliedMigration>
): ReadonlyArray<Drift> => {
  const filesById = new Map(files.map((file) => [file.id, file]))
  const appliedIds = new Set(applied.map((row) => row.id))
  const latestApplied = applied.reduce((max, row) => Math.max(max, row.id), 0)
  const drift: Array<Drift> = []
  for (const row of applied) {
    const file = filesById.get(row.id)
    if (file === undefined) {
      drift.push({
        kind: "missing",
        id: row.id,
        name: row.name,
        message: `migration ${row.id}_${row.name} was applied but its file is missing`
      })
    } else if ((row.sha256 !== null && row.sha256 !== file.sha256) || row.name !== file.name) {
      drift.push({
        kind: "changed",
        id: row.id,
        name: row.name,
        message: `${file.fileName} has changed since it was applied (recorded as ${row.id}_${row.name}, sha256 ${row.sha256?.slice(0, 12) ?? "unknown"}, file ${file.sha256.slice(0, 12)})`
      })
    }
  }
  for (const file of files) {
    if (!appliedIds.has(file.id) && file.id < latestApplied) {
      drift.push({
        kind: "outOfOrder",
        id: file.id,
        name: file.name,
        message: `${file.fileName} is pending but its id is lower than the latest applied migration (${latestApplied}); give it a higher id`
      })
    }
  }
  return drift.sort((a, b) => a.id - b.id)
}

/** Files not yet applied (an out-of-order one is also reported as drift, and refused). */
export const pendingMigrations = (
  files: ReadonlyArray<MigrationFile>,
  applied: ReadonlyArray<AppliedMigration>
): ReadonlyArray<MigrationFile> => {
  const appliedIds = new Set(applied.map((row) => row.id))
  return files.filter((file) => !appliedIds.has(file.id))
}
