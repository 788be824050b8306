#!/usr/bin/env node
/**
 * The platform-kernel runtime: `serve` (default), `migrate`, `status`, `health` and `entity-sql`.
 * Every command loads the configuration first, then only the layers it needs.
 */
// Submodules, not the package index, which loads every Node integration: about 0.2 s of startup.
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, Console, Duration, Effect, Exit, Layer, Option } from "effect"
import { Argument, CliError, Command, Flag } from "effect/cli"
import { HttpMiddleware, HttpRouter } from "effect/http"
import { SqlClient } from "effect/sql"
import { AppConfig } from "./Config/AppConfig.ts"
import type { AppConfigValues } from "./Config/ConfigSchema.ts"
import * as Logging from "./Config/Logging.ts"
import { packageVersion } from "./Config/PackageFiles.ts"
import { verifyAuditArchive } from "./Database/AuditPartitions/AuditArchive.ts"
import * as AuditMaintenance from "./Database/AuditPartitions/AuditMaintenance.ts"
import { listPartitionsReport, printPartitionsReport } from "./Database/AuditPartitions/PartitionsReport.ts"
import * as RbacBaseline from "./Database/Bootstrap/RbacBaseline.ts"
import * as DatabaseClient from "./Database/Client/DatabaseClient.ts"
import { DatabaseTarget } from "./Database/Client/DatabaseTarget.ts"
import { describeFailure } from "./Database/Client/SqlFailure.ts"
import * as Database from "./Database/Database.ts"
import { createTablesOfModule, entityStatuses, loadEntities } from "./Database/Entity/EntityModule.ts"
import { DatabaseHealth } from "./Database/Health/DatabaseHealth.ts"
import { DrainingHttpServer } from "./Database/Health/DrainingHttpServer.ts"
import * as HealthProbes from "./Database/Health/HealthProbes.ts"
import {
  configuredServiceMigrations,
  DatabaseMigrations,
  kernelMigrations,
  type MigrationOptions,
  migrationStatus
} from "./Database/Migrations/DatabaseMigrations.ts"
import * as RepositoryLayers from "./Database/RepositoryLayers.ts"
import * as Telemetry from "./Database/Telemetry/Telemetry.ts"

const version: string = packageVersion()

const configFlag = Flag.String("config").pipe(
  Flag.withDescription("YAML configuration file (default: CONFIG_FILE, else the bundled config/default.yaml)"),
  Flag.optional
)

/** Loads the configuration named by --config / CONFIG_FILE, and logs as it says. */
const withConfig = <A, E, R>(
  configPath: Option.Option<string>,
  run: (config: AppConfigValues) => Effect.Effect<A, E, R>,
  options: { readonly logToStderr?: boolean } = {}
) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    return yield* run(config).pipe(
      Effect.provide(Logging.layer(config.log, { toStderr: options.logToStderr ?? false }))
    )
  }).pipe(Effect.provide(AppConfig.layer({ path: Option.getOrUndefined(configPath) })))

/** The migrated database, its repositories, and the `rbac.roles` baseline applied. */
const MigratedWithBaseline = RbacBaseline.layer.pipe(
  Layer.provideMerge(RepositoryLayers.layer),
  Layer.provideMerge(Database.layer)
)

/** For one-off commands: the configured server, or the embedded one, reusing one a running `serve` started. */
const OneOffConnection = DatabaseClient.layer.pipe(
  Layer.provideMerge(DatabaseTarget.layer({ embedded: "attachOrStart" }))
)

/** The probe server on `server`, which `serve` drains on shutdown (see `DrainingHttpServer`). */
const HttpServerLayer = (server: DrainingHttpServer) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const config = yield* AppConfig
      return NodeHttpServer.layer(() => server, {
        port: config.http.port,
        host: config.http.host,
        gracefulShutdownTimeout: config.shutdown.timeout
      })
    })
  )

const serve = (configPath: Option.Option<string>) =>
  withConfig(configPath, (config) =>
    Effect.gen(function* () {
      yield* Effect.logInfo("platform-kernel starting").pipe(Effect.annotateLogs({ version }))
      const server = new DrainingHttpServer({ closeTimeout: config.shutdown.timeout })
      const routes = Layer.merge(
        HealthProbes.routes({ draining: () => server.draining }),
        config.telemetry.metrics.enabled ? Telemetry.prometheusRoute() : Layer.empty
      )
      const App = HttpRouter.serve(routes, { disableLogger: true }).pipe(
        Layer.provide(HttpServerLayer(server)),
        // Scrapes and liveness checks make no spans; /readyz does (it queries the database), and joins the
        // caller's trace when the request carries a traceparent header.
        Layer.provide(HttpMiddleware.layerTracerDisabledForUrls(["/metrics", "/healthz"])),
        Layer.provide(DatabaseHealth.layer),
        // Audit partitions made ahead (and expired ones dropped) at startup and every checkInterval.
        Layer.merge(AuditMaintenance.layerSchedule),
        Layer.provide(MigratedWithBaseline),
        Layer.provide(AppConfig.layerFrom(config))
      )
      // Built after App, so "ready" means migrated and listening; released before it, so on SIGTERM/SIGINT
      // the process first drains: /readyz answers 503, every response says `Connection: close`, and requests
      // are still accepted for shutdown.drainDelay (connections already queued when the signal came are
      // served, and load balancers stop routing here); then the listener closes, each connection is closed
      // once it has answered its request in flight (at the latest after shutdown.timeout); then the pool
      // closes and the embedded server stops.
      const Lifecycle = Layer.effectDiscard(
        Effect.andThen(
          Effect.logInfo("ready").pipe(Effect.annotateLogs({ host: config.http.host, port: config.http.port })),
          Effect.addFinalizer(() =>
            // Draining first: whatever is answered after the log line says so.
            Effect.sync(() => server.drain()).pipe(
              Effect.andThen(
                Effect.logInfo("shutting down").pipe(
                  Effect.annotateLogs({ drainDelay: Duration.format(config.shutdown.drainDelay) })
                )
              ),
              Effect.andThen(Effect.sleep(config.shutdown.drainDelay))
            )
          )
        )
      ).pipe(Layer.provide(App))
      // Outermost: every layer is built under its tracer and loggers, and its last batch is sent after the pool
      // has closed.
      yield* Layer.launch(Lifecycle).pipe(Effect.provide(Telemetry.layerFrom(config.telemetry)))
    })
  )

const rootCommand = Command.make("platform-kernel").pipe(
  Command.withSharedFlags({ config: configFlag }),
  Command.withDescription(
    "The platform's database layer. Without a subcommand: serve (migrate, then serve /healthz, /readyz and /metrics until SIGTERM)."
  ),
  Command.withHandler(({ config }) => serve(config))
)

const serveCommand = Command.make("serve", {}, () => Effect.flatMap(rootCommand, ({ config }) => serve(config))).pipe(
  Command.withDescription(
    "Connect (embedded PostgreSQL when no database is configured), apply migrations, serve GET /healthz, GET /readyz and GET /metrics until SIGINT/SIGTERM, then shut down cleanly."
  )
)

const migrateCommand = Command.make("migrate", {}, () =>
  Effect.flatMap(rootCommand, ({ config: configPath }) =>
    withConfig(configPath, (config) =>
      Effect.gen(function* () {
        const migrations = yield* DatabaseMigrations
        const applied =
          migrations.appliedAtStartup.length +
          Option.match(migrations.service, { onNone: () => 0, onSome: (service) => service.appliedAtStartup.length })
        yield* Effect.logInfo(applied === 0 ? "nothing to migrate" : `applied ${applied} migration(s)`)
        yield* AuditMaintenance.maintainAsOwner(config, yield* SqlClient.SqlClient)
      }).pipe(
        Effect.provide(
          RbacBaseline.layer.pipe(
            Layer.provideMerge(RepositoryLayers.layer),
            Layer.provideMerge(DatabaseMigrations.layer),
            Layer.provideMerge(OneOffConnection)
          )
        ),
        // Asked for explicitly: migrate even where serve is configured not to.
        Effect.provide(
          AppConfig.layerFrom({
            ...config,
            database: { ...config.database, migrations: { ...config.database.migrations, run: true } }
          })
        )
      )
    )
  )
).pipe(
  Command.withDescription(
    "Apply pending migrations (the kernel's, then the service's of database.migrations.service) and the rbac.roles baseline, make the audit partitions ahead (and apply audit.retention), then exit."
  )
)

/** A history's status with where it lives: `table`, `schema` (null when on the search_path) and `directory`. */
const historyStatus = (options: MigrationOptions) =>
  Effect.map(migrationStatus(options), (status) => ({
    table: options.table,
    schema: options.schema ?? null,
    directory: options.directory,
    ...status
  }))

const printHistory = (label: string, history: Effect.Success<ReturnType<typeof historyStatus>>) =>
  Effect.gen(function* () {
    const table = history.schema === null ? history.table : `${history.schema}.${history.table}`
    yield* Console.log(`${label} migrations: history ${table}, folder ${history.directory}`)
    for (const row of history.applied) {
      yield* Console.log(`  applied   ${row.id}_${row.name}  (${row.appliedAt.toISOString()})`)
    }
    for (const file of history.pending) yield* Console.log(`  pending   ${file.fileName}`)
    for (const drift of history.drift) yield* Console.log(`  DRIFT     ${drift.kind}: ${drift.message}`)
    if (history.applied.length + history.pending.length === 0) yield* Console.log("  no migrations")
  })

const printEntities = (entities: Effect.Success<ReturnType<typeof entityStatuses>>) =>
  Effect.gen(function* () {
    yield* Console.log("entities:")
    for (const entity of entities) {
      if (entity.differences.length === 0) yield* Console.log(`  ok        ${entity.table} (${entity.entity})`)
      for (const line of entity.differences) yield* Console.log(`  DIFFERS   ${line}`)
    }
  })

const statusCommand = Command.make(
  "status",
  {
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print the status as JSON"), Flag.withDefault(false)),
    entities: Flag.String("entities").pipe(
      Flag.withDescription("A module declaring the service's entities (Entity.make): their tables are checked too"),
      Flag.optional
    )
  },
  ({ json, entities }) =>
    Effect.flatMap(rootCommand, ({ config: configPath }) =>
      withConfig(
        configPath,
        (config) =>
          Effect.gen(function* () {
            const histories = {
              kernel: yield* historyStatus(kernelMigrations(config)),
              service: yield* Option.match(configuredServiceMigrations(config), {
                onNone: () => Effect.succeed(null),
                onSome: historyStatus
              })
            }
            const checked = Option.isNone(entities)
              ? undefined
              : yield* entityStatuses(yield* SqlClient.SqlClient, yield* loadEntities(entities.value))
            if (json) {
              yield* Console.log(
                JSON.stringify(checked === undefined ? histories : { ...histories, entities: checked }, null, 2)
              )
            } else {
              yield* printHistory("kernel", histories.kernel)
              if (histories.service !== null) yield* printHistory("service", histories.service)
              if (checked !== undefined) yield* printEntities(checked)
            }
            const differences = checked?.some((entity) => entity.differences.length > 0) ?? false
            if (histories.kernel.drift.length + (histories.service?.drift.length ?? 0) > 0 || differences)
              process.exitCode = 1
          }).pipe(Effect.provide(OneOffConnection), Effect.provide(AppConfig.layerFrom(config))),
        { logToStderr: true }
      )
    )
).pipe(
  Command.withDescription(
    "List the applied and pending migrations of the kernel and of the service (database.migrations.service), each history labelled; drift (changed, missing or out-of-order files) is marked and exits 1. With --entities MODULE, each declared entity's table is compared with the catalog too; a difference exits 1."
  )
)

const healthCommand = Command.make("health", {}, () =>
  Effect.flatMap(rootCommand, ({ config: configPath }) =>
    withConfig(
      configPath,
      (config) =>
        Effect.gen(function* () {
          const health = yield* DatabaseHealth
          const report = yield* health.check
          yield* Console.log(JSON.stringify(report))
          if (report.status !== "up") process.exitCode = 1
        }).pipe(
          Effect.provide(DatabaseHealth.layer),
          Effect.provide(DatabaseTarget.layer({ embedded: "attach" })),
          Effect.provide(AppConfig.layerFrom(config))
        ),
      { logToStderr: true }
    )
  )
).pipe(Command.withDescription("Check the database once and print the result as JSON; exit 0 when up, 1 when down."))

const entitySqlCommand = Command.make("entity-sql", { module: Argument.String("module") }, ({ module }) =>
  Effect.flatMap(createTablesOfModule(module), Console.log)
).pipe(
  Command.withDescription(
    "Print the CREATE TABLE each entity declared in a module (Entity.make) expects, to start a migration from."
  )
)

/** Runs `run` with the configuration and a one-off connection (logs to stderr: stdout is the command's). */
const withConnection = <A, E>(
  run: (config: AppConfigValues, sql: SqlClient.SqlClient) => Effect.Effect<A, E, SqlClient.SqlClient>
) =>
  Effect.flatMap(rootCommand, ({ config: configPath }) =>
    withConfig(
      configPath,
      (config) =>
        Effect.gen(function* () {
          return yield* run(config, yield* SqlClient.SqlClient)
        }).pipe(Effect.provide(OneOffConnection), Effect.provide(AppConfig.layerFrom(config))),
      { logToStderr: true }
    )
  )

const jsonFlag = Flag.Boolean("json").pipe(Flag.withDescription("Print JSON"), Flag.withDefault(false))

const auditPartitionsCommand = Command.make(
  "partitions",
  {
    json: jsonFlag,
    exact: Flag.Boolean("exact").pipe(
      Flag.withDescription("Count every partition's rows (reads them all) instead of the planner's estimate"),
      Flag.withDefault(false)
    )
  },
  ({ json, exact }) =>
    withConnection((config, sql) =>
      Effect.gen(function* () {
        const report = yield* AuditMaintenance.asOwner(config, sql, listPartitionsReport(config, { exact }))
        yield* json ? Console.log(JSON.stringify(report, null, 2)) : printPartitionsReport(report)
        if (report.defaultRows > 0) process.exitCode = 1
      })
    )
).pipe(
  Command.withDescription(
    "List the partitions of audit_logs: range, rows (estimate, or --exact), size and archive state, and archives of dropped ones; exits 1 when the default partition holds rows."
  )
)

const auditRetainCommand = Command.make("retain", { json: jsonFlag }, ({ json }) =>
  withConnection((config, sql) =>
    Effect.gen(function* () {
      const result = yield* AuditMaintenance.maintainAsOwner(config, sql)
      const summary = {
        created: result.created,
        dropped: result.dropped.map((p) => ({
          partition: p.name,
          rows: p.rows ?? null,
          rowsAre: p.rowsAre,
          archive: p.archive?.file ?? null
        })),
        defaultRows: result.defaultRows
      }
      if (json) return yield* Console.log(JSON.stringify(summary, null, 2))
      yield* Console.log(`made ${summary.created.length} partition(s)${summary.created.map((n) => ` ${n}`).join("")}`)
      for (const p of summary.dropped) {
        const rows = p.rows === null ? "unknown" : `${p.rows}${p.rowsAre === "estimate" ? " (est.)" : ""}`
        yield* Console.log(
          `dropped ${p.partition} (${rows} rows)${p.archive === null ? "" : `, archived to ${p.archive}`}`
        )
      }
      if (config.audit.retention === "off") yield* Console.log("audit.retention is off: nothing dropped")
    })
  )
).pipe(
  Command.withDescription(
    "Make the missing audit partitions, then drop those older than audit.retention (each archived first when audit.archive.directory is set), as the owner role (database.migrations.url when set)."
  )
)

const auditVerifyCommand = Command.make(
  "verify-archive",
  { file: Argument.String("file").pipe(Argument.withDescription("The archive, e.g. audit_logs_p20260101.csv")) },
  ({ file }) =>
    Effect.gen(function* () {
      const summary = yield* verifyAuditArchive(file)
      yield* Console.log(JSON.stringify(summary))
    })
).pipe(
  Command.withDescription(
    "Check an audit archive against the checksum file beside it and count its rows; exits 1 when it is damaged."
  )
)

const auditCommand = Command.make("audit").pipe(
  Command.withDescription("The audit log's time partitions: list them, apply retention, verify an archive."),
  Command.withSubcommands([auditPartitionsCommand, auditRetainCommand, auditVerifyCommand])
)

const cli = rootCommand.pipe(
  Command.withSubcommands([serveCommand, migrateCommand, statusCommand, healthCommand, entitySqlCommand, auditCommand]),
  Command.run({ version })
)

cli.pipe(
  // Startup failures are reported as one line each, never as a stack trace.
  Effect.tapCause((cause) => {
    const failure = Cause.squash(cause)
    // Usage errors were already shown by the CLI, with the help text.
    return Cause.hasInterruptsOnly(cause) || CliError.isCliError(failure)
      ? Effect.void
      : Console.error(`platform-kernel: ${describeFailure(failure)}`)
  }),
  Effect.provide(NodeServices.layer),
  (program) =>
    NodeRuntime.runMain(program, {
      disableErrorReporting: true,
      teardown: (exit, onExit) => {
        // SIGINT/SIGTERM interrupt the main fiber: a clean shutdown, so exit 0.
        const clean = Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)
        onExit(clean ? Number(process.exitCode ?? 0) : 1)
      }
    })
)
