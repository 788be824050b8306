import { Clock, Context, Effect, type FileSystem, Layer, Option, Path } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import * as Migrator from "effect/sql/Migrator"
import { AppConfig } from "../../Config/AppConfig.ts"
import { describeRefusedValue } from "../../Config/ConfigError.ts"
import { type AppConfigValues, SCHEMA_NAME, SQL_IDENTIFIER } from "../../Config/ConfigSchema.ts"
import * as NodeFiles from "../../Config/NodeFiles.ts"
import { describeSqlError, sqlStateOf } from "../Client/SqlFailure.ts"
import { countMigrationsApplied } from "../Telemetry/MetricsSwitch.ts"
import { hasOwnUrl, ownerClient } from "./MigrationConnection.ts"
import { type AppliedMigration, type Drift, detectDrift, pendingMigrations } from "./MigrationDrift.ts"
import { type MigrationFile, readMigrationFiles } from "./MigrationFiles.ts"
import {
  ensureChecksumColumn,
  ensureSchema,
  type HistoryTable,
  qualifiedName,
  readAppliedMigrations,
  recordChecksum,
  searchSchemaFirst
} from "./MigrationHistory.ts"

/** One set of migrations and the history that records them: the kernel's, or a service's own. */
export interface MigrationOptions {
  /** Folder of `NNNN_name.sql` files. */
  readonly directory: string
  /** Table recording the applied migrations (an SQL identifier). */
  readonly table: string
  /**
   * A PostgreSQL schema of the set's own: created if missing, it holds `table`, and the files run with it
   * first on the search_path (so unqualified names they create land there). Omitted: the search_path as it is.
   */
  readonly schema?: string | undefined
}

/** One history's applied, pending and drifted migrations. */
export interface MigrationStatus {
  readonly applied: ReadonlyArray<AppliedMigration>
  readonly pending: ReadonlyArray<Pick<MigrationFile, "id" | "name" | "fileName">>
  readonly drift: ReadonlyArray<Drift>
  /** The highest applied id, or null on an empty database. */
  readonly latest: number | null
}

const historyOf = (options: MigrationOptions): HistoryTable => ({ table: options.table, schema: options.schema })

const badOptions = (message: string) => new Migrator.MigrationError({ kind: "BadState", message })

/** Refuses options the history table cannot be named after; `field` names them in the message. */
const validateOptions = (options: MigrationOptions, field: string) => {
  if (options.directory === "") {
    return Effect.fail(badOptions(`${field}.directory: expected a folder of NNNN_name.sql files, got an empty string`))
  }
  if (!SQL_IDENTIFIER.test(options.table)) {
    return Effect.fail(
      badOptions(
        `${field}.table: expected an SQL identifier (letters, digits and _, at most 63), got ${describeRefusedValue(options.table)}`
      )
    )
  }
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
    return Effect.fail(
      badOptions(
        `${field}.schema: expected a schema name (letters, digits and _, at most 63, not starting with pg_), got ${describeRefusedValue(options.schema)}`
      )
    )
  }
  return Effect.void
}

const refuse = (options: MigrationOptions, drift: ReadonlyArray<Drift>) =>
  new Migrator.MigrationError({
    kind: "BadState",
    message: `refusing to migrate (history ${qualifiedName(historyOf(options))}, folder ${options.directory}):\n${drift.map((d) => `  - ${d.message}`).join("\n")}`
  })

const runFile = (file: MigrationFile, history: HistoryTable) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const startedAt = yield* Clock.currentTimeMillis
    for (const statement of file.statements) {
      yield* sql.unsafe(statement).withoutTransform
    }
    yield* recordChecksum(history, file.id, file.sha256)
    const durationMs = (yield* Clock.currentTimeMillis) - startedAt
    // The migrator already annotates migration_id and migration_name.
    yield* Effect.logInfo("migration applied").pipe(Effect.annotateLogs({ durationMs }))
  })

const migrator = Migrator.make({})

/**
 * Applies pending migrations through Effect's migrator. Its loader runs after the migrator has locked the
 * history table, inside its transaction, so the drift check sees the same history the run will extend,
 * and concurrent instances queue on that lock: one applies, the others find nothing to do. With a
 * `schema`, the loader also puts it first on the search_path for the rest of that transaction.
 *
 * The history is read first, without the lock: with nothing pending (the usual start), nothing is locked or
 * altered, so a role with only SELECT on the history starts. The history only grows, so "nothing pending"
 * cannot turn false behind our back.
 */
export const applyMigrations = Effect.fn("applyMigrations")(function* (options: MigrationOptions) {
  yield* validateOptions(options, "options")
  const files = yield* readMigrationFiles(options.directory)
  const history = historyOf(options)
  if (options.schema !== undefined) yield* ensureSchema(options.schema)
  const applied = yield* readAppliedMigrations(history).pipe(Effect.mapError(failed))
  const drift = detectDrift(files, applied)
  if (drift.length > 0) return yield* refuse(options, drift)
  const pending = pendingMigrations(files, applied)
  if (pending.length === 0) return [] as ReadonlyArray<readonly [id: number, name: string]>
  const loader: Migrator.Loader<SqlClient.SqlClient> = Effect.gen(function* () {
    if (options.schema !== undefined) yield* searchSchemaFirst(options.schema)
    yield* ensureChecksumColumn(history)
    const drift = detectDrift(files, yield* readAppliedMigrations(history))
    if (drift.length > 0) return yield* refuse(options, drift)
    return files.map((file) => [file.id, file.name, Effect.succeed(runFile(file, history))] as const)
  }).pipe(Effect.mapError((error) => (error instanceof Migrator.MigrationError ? error : failed(error))))
  return yield* migrator({ loader, table: qualifiedName(history) }).pipe(
    Effect.mapError((error) => withOwnerHint(error, pending.length)),
    Effect.annotateLogs("migrations_table", qualifiedName(history))
  )
})

/**
 * A failure for want of privileges (SQLSTATE 42501, e.g. "must be owner of table ...") names the way out:
 * migrations need the role that owns the schema, which `database.migrations.url` can name.
 */
const withOwnerHint = <E>(error: E, pending: number): E | Migrator.MigrationError => {
  const sqlError = SqlError.isSqlError(error)
    ? error
    : error instanceof Migrator.MigrationError && SqlError.isSqlError(error.cause)
      ? error.cause
      : undefined
  if (sqlError === undefined || sqlStateOf(sqlError) !== "42501") return error
  return new Migrator.MigrationError({
    kind: "Failed",
    message: `cannot apply ${pending} pending migration(s) as this role: ${describeSqlError(sqlError)}; run them as the schema's owner (database.migrations.url, or platform-kernel migrate with the owner's URL)`,
    cause: error
  })
}

const failed = (cause: unknown) =>
  new Migrator.MigrationError({ kind: "Failed", message: "cannot read the migration history", cause })

/** The status of `files` against the history in `table` (of `schema`); for callers that read the files once. */
export const migrationStatusOf = Effect.fn("migrationStatusOf")(function* (
  files: ReadonlyArray<MigrationFile>,
  table: string,
  schema?: string | undefined
) {
  const applied = yield* readAppliedMigrations({ table, schema })
  return {
    applied,
    pending: pendingMigrations(files, applied).map(({ id, name, fileName }) => ({ id, name, fileName })),
    drift: detectDrift(files, applied),
    latest: applied.length === 0 ? null : Math.max(...applied.map((row) => row.id))
  } satisfies MigrationStatus
})

/** Applied, pending and drifted migrations, without changing anything. */
export const migrationStatus = Effect.fn("migrationStatus")(function* (options: MigrationOptions) {
  yield* validateOptions(options, "options")
  return yield* migrationStatusOf(yield* readMigrationFiles(options.directory), options.table, options.schema)
})

/** The kernel's migrations as configured (`database.migrations.directory` and `.table`). */
export const kernelMigrations = (config: AppConfigValues): MigrationOptions => ({
  directory: config.database.migrations.directory,
  table: config.database.migrations.table
})

/** The service's own migrations as configured (`database.migrations.service`); none with an empty directory. */
export const configuredServiceMigrations = (config: AppConfigValues): Option.Option<MigrationOptions> => {
  const { directory, table, schema } = config.database.migrations.service
  return directory === ""
    ? Option.none()
    : Option.some({ directory, table, schema: schema === "" ? undefined : schema })
}

/** Options of `DatabaseMigrations.layerWith` (and of `Database.layerWith`). */
export interface DatabaseMigrationsOptions {
  /**
   * The service's own migrations, applied after the kernel's in their own history. Given here, they
   * replace `database.migrations.service` from the configuration; a relative `directory` is resolved
   * against the working directory, so prefer `fileURLToPath(new URL("../migrations", import.meta.url))`.
   */
  readonly serviceMigrations?: MigrationOptions | undefined
}

/** A service's own migrations, as the `DatabaseMigrations` layer found them. */
export interface ServiceMigrationsState {
  readonly options: MigrationOptions
  /** Migrations of the service applied while the layer was built. */
  readonly appliedAtStartup: ReadonlyArray<readonly [id: number, name: string]>
  readonly status: Effect.Effect<MigrationStatus, Migrator.MigrationError | SqlError.SqlError>
}

/**
 * The service's migrations from `options`, else from the configuration, checked: valid names, and a
 * history table that is not the kernel's.
 */
const resolveServiceMigrations = (
  options: DatabaseMigrationsOptions,
  kernel: MigrationOptions,
  config: AppConfigValues
) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const given = options.serviceMigrations
    const [service, field] =
      given === undefined
        ? [configuredServiceMigrations(config), "database.migrations.service"]
        : [
            Option.some({ ...given, directory: given.directory === "" ? "" : path.resolve(given.directory) }),
            "serviceMigrations"
          ]
    if (Option.isNone(service)) return service
    yield* validateOptions(service.value, field)
    if (service.value.table === kernel.table) {
      return yield* badOptions(
        `${field}.table: expected a table other than the kernel's (database.migrations.table), got the same name`
      )
    }
    return service
  })

const ensureCurrent = (options: MigrationOptions, label: string, status: MigrationStatus) => {
  if (status.drift.length > 0) return Effect.fail(refuse(options, status.drift))
  if (status.pending.length > 0) {
    return Effect.fail(
      new Migrator.MigrationError({
        kind: "BadState",
        message: `${status.pending.length} ${label} migration(s) pending and database.migrations.run is false: run \`platform-kernel migrate\` first`
      })
    )
  }
  return Effect.void
}

const make = (options: DatabaseMigrationsOptions) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const sql = yield* SqlClient.SqlClient
    const kernel = kernelMigrations(config)
    const service = yield* resolveServiceMigrations(options, kernel, config).pipe(Effect.provide(NodeFiles.layer))
    const withServices = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient | FileSystem.FileSystem | Path.Path>) =>
      effect.pipe(Effect.provideService(SqlClient.SqlClient, sql), Effect.provide(NodeFiles.layer))
    const statusOf = (set: MigrationOptions) => withServices(migrationStatus(set))

    if (!config.database.migrations.run) {
      yield* Effect.flatMap(statusOf(kernel), (status) => ensureCurrent(kernel, "kernel", status))
      if (Option.isSome(service)) {
        yield* Effect.flatMap(statusOf(service.value), (status) => ensureCurrent(service.value, "service", status))
      }
    }
    // The kernel's first: a service's tables may refer to the kernel's (users, roles), never the reverse.
    const applyAll = (client: SqlClient.SqlClient) =>
      Effect.all([
        applyMigrations(kernel),
        Option.isSome(service) ? applyMigrations(service.value) : Effect.succeed([])
      ]).pipe(Effect.provideService(SqlClient.SqlClient, client), Effect.provide(NodeFiles.layer))
    // Only what is pending needs the owner's connection: the usual start reads the histories on the service's
    // own and opens nothing else.
    const anythingToApply = Effect.map(Effect.forEach([kernel, ...Option.toArray(service)], statusOf), (statuses) =>
      statuses.some((status) => status.pending.length + status.drift.length > 0)
    )
    const [appliedAtStartup, serviceApplied] = !config.database.migrations.run
      ? [[], []]
      : hasOwnUrl(config) && (yield* anythingToApply)
        ? yield* Effect.scoped(Effect.flatMap(ownerClient(config), applyAll))
        : yield* applyAll(sql)
    const total = appliedAtStartup.length + serviceApplied.length
    yield* countMigrationsApplied({
      kernel: appliedAtStartup.length,
      service: Option.isSome(service) ? serviceApplied.length : undefined
    })
    if (config.database.migrations.run) {
      yield* Effect.logInfo(total === 0 ? "database schema is current" : `applied ${total} migration(s)`).pipe(
        Effect.annotateLogs(
          Option.isSome(service) ? { kernel: appliedAtStartup.length, service: serviceApplied.length } : {}
        )
      )
    }
    return DatabaseMigrations.of({
      appliedAtStartup,
      status: statusOf(kernel),
      service: Option.map(service, (set) => ({ options: set, appliedAtStartup: serviceApplied, status: statusOf(set) }))
    })
  })

/**
 * The database schema is current: the kernel's migrations, then the service's own when it has any. Layers
 * that query the database depend on this service, so nothing can query before the migrations have been
 * applied (or, with `database.migrations.run: false`, checked).
 */
export class DatabaseMigrations extends Context.Service<
  DatabaseMigrations,
  {
    /** Kernel migrations applied while this layer was built (empty when another instance applied them). */
    readonly appliedAtStartup: ReadonlyArray<readonly [id: number, name: string]>
    /** The kernel's history. */
    readonly status: Effect.Effect<MigrationStatus, Migrator.MigrationError | SqlError.SqlError>
    /** The service's own migrations, when it has any. */
    readonly service: Option.Option<ServiceMigrationsState>
  }
>()("platform-kernel/Database/DatabaseMigrations") {
  /** Applies (or checks) the kernel's migrations, then those of `database.migrations.service`. */
  static readonly layer: Layer.Layer<
    DatabaseMigrations,
    Migrator.MigrationError | SqlError.SqlError,
    AppConfig | SqlClient.SqlClient
  > = Layer.effect(DatabaseMigrations, make({}))

  /** As `layer`, with the service's migrations given in code instead of the configuration. */
  static readonly layerWith = (
    options: DatabaseMigrationsOptions
  ): Layer.Layer<DatabaseMigrations, Migrator.MigrationError | SqlError.SqlError, AppConfig | SqlClient.SqlClient> =>
    Layer.effect(DatabaseMigrations, make(options))
}
