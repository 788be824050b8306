import { NodeFileSystem, NodePath } from "@effect/platform-node"
import { Clock, Context, Effect, Layer } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import * as Migrator from "effect/sql/Migrator"
import { AppConfig } from "../../Config/AppConfig.ts"
import { type AppliedMigration, type Drift, detectDrift, pendingMigrations } from "./MigrationDrift.ts"
import { type MigrationFile, readMigrationFiles } from "./MigrationFiles.ts"
import { ensureChecksumColumn, readAppliedMigrations, recordChecksum } from "./MigrationHistory.ts"

export interface MigrationOptions {
  readonly directory: string
  readonly table: string
}

export interface MigrationStatus {
  readonly applied: ReadonlyArray<AppliedMigration>
  readonly pending: ReadonlyArray<Pick<MigrationFile, "id" | "name" | "fileName">>
  readonly drift: ReadonlyArray<Drift>
  /** The highest applied id, or null on an empty database. */
  readonly latest: number | null
}

const refuse = (drift: ReadonlyArray<Drift>) =>
  new Migrator.MigrationError({
    kind: "BadState",
    message: `refusing to migrate:\n${drift.map((d) => `  - ${d.message}`).join("\n")}`
  })

const runFile = (file: MigrationFile, table: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const startedAt = yield* Clock.currentTimeMillis
    for (const statement of file.statements) {
      yield* sql.unsafe(statement).withoutTransform
    }
    yield* recordChecksum(table, file.id, file.sha256)
    const durationMs = (yield* Clock.currentTimeMillis) - startedAt
    // The migrator already annotates migration_id and migration_name.
    yield* Effect.logInfo("migration applied").pipe(Effect.annotateLogs({ durationMs }))
  })

const migrator = Migrator.make({})

/**
 * Applies pending migrations through Effect's migrator. Its loader runs after the migrator has locked the
 * migrations table, inside its transaction, so the drift check sees the same history the run will extend,
 * and concurrent instances queue on that lock: one applies, the others find nothing to do.
 */
export const applyMigrations = Effect.fn("applyMigrations")(function* (options: MigrationOptions) {
  const files = yield* readMigrationFiles(options.directory)
  const loader: Migrator.Loader<SqlClient.SqlClient> = Effect.gen(function* () {
    yield* ensureChecksumColumn(options.table)
    const drift = detectDrift(files, yield* readAppliedMigrations(options.table))
    if (drift.length > 0) return yield* refuse(drift)
    return files.map((file) => [file.id, file.name, Effect.succeed(runFile(file, options.table))] as const)
  }).pipe(Effect.mapError((error) => (error instanceof Migrator.MigrationError ? error : failed(error))))
  return yield* migrator({ loader, table: options.table })
})

const failed = (cause: unknown) =>
  new Migrator.MigrationError({ kind: "Failed", message: "cannot read the migration history", cause })

/** The status of `files` against the database's history; for callers that read the files once. */
export const migrationStatusOf = Effect.fn("migrationStatusOf")(function* (
  files: ReadonlyArray<MigrationFile>,
  table: string
) {
  const applied = yield* readAppliedMigrations(table)
  return {
    applied,
    pending: pendingMigrations(files, applied).map(({ id, name, fileName }) => ({ id, name, fileName })),
    drift: detectDrift(files, applied),
    latest: applied.length === 0 ? null : Math.max(...applied.map((row) => row.id))
  } satisfies MigrationStatus
})

/** Applied, pending and drifted migrations, without changing anything. */
export const migrationStatus = Effect.fn("migrationStatus")(function* (options: MigrationOptions) {
  return yield* migrationStatusOf(yield* readMigrationFiles(options.directory), options.table)
})

const FileServices = Layer.merge(NodeFileSystem.layer, NodePath.layer)

/**
 * The database schema is current. Layers that query the database depend on this service, so nothing can
 * query before the migrations have been applied (or, with `database.migrations.run: false`, checked).
 */
export class DatabaseMigrations extends Context.Service<
  DatabaseMigrations,
  {
    /** Migrations applied while this layer was built (empty when another instance applied them). */
    readonly appliedAtStartup: ReadonlyArray<readonly [id: number, name: string]>
    readonly status: Effect.Effect<MigrationStatus, Migrator.MigrationError | SqlError.SqlError>
  }
>()("platform-kernel/Database/DatabaseMigrations") {
  static readonly layer = Layer.effect(
    DatabaseMigrations,
    Effect.gen(function* () {
      const config = yield* AppConfig
      const sql = yield* SqlClient.SqlClient
      const options = config.database.migrations
      const status = migrationStatus(options).pipe(
        Effect.provideService(SqlClient.SqlClient, sql),
        Effect.provide(FileServices)
      )
      if (!options.run) {
        const current = yield* status
        if (current.drift.length > 0) return yield* refuse(current.drift)
        if (current.pending.length > 0) {
          return yield* new Migrator.MigrationError({
            kind: "BadState",
            message: `${current.pending.length} migration(s) pending and database.migrations.run is false: run \`platform-kernel migrate\` first`
          })
        }
        return DatabaseMigrations.of({ appliedAtStartup: [], status })
      }
      const appliedAtStartup = yield* applyMigrations(options).pipe(Effect.provide(FileServices))
      const latest = appliedAtStartup.at(-1)
      yield* Effect.logInfo(
        latest === undefined ? "database schema is current" : `applied ${appliedAtStartup.length} migration(s)`
      )
      return DatabaseMigrations.of({ appliedAtStartup, status })
    })
  )
}
