import { PgClient } from "@effect/sql-pg"
import { Clock, Context, Duration, Effect, Layer, Option, Path, Redacted, Schema } from "effect"
import type { SqlError } from "effect/sql"
import { AppConfig, type LoadOptions, loadAppConfig } from "../../Config/AppConfig.ts"
import type { AppConfigValues } from "../../Config/ConfigSchema.ts"
import * as Logging from "../../Config/Logging.ts"
import * as NodeFiles from "../../Config/NodeFiles.ts"
import { describeSqlError } from "../Client/SqlFailure.ts"
import * as Database from "../Database.ts"
import {
  configuredServiceMigrations,
  kernelMigrations,
  type MigrationOptions
} from "../Migrations/DatabaseMigrations.ts"
import { readMigrationFiles } from "../Migrations/MigrationFiles.ts"
import * as PlatformKernel from "../PlatformKernel.ts"
import * as SharedEmbeddedServer from "./SharedEmbeddedServer.ts"
import { cloneName, cloneTemplate, dropDatabase, ensureTemplate, templateName } from "./TemplateDatabase.ts"

/** Options of `TestDatabase.layer`. */
export interface TestDatabaseOptions {
  /**
   * Configuration overrides, named as environment variables (`RBAC_ROLES`, `DATABASE_POOL_MAX_CONNECTIONS`,
   * ...), laid over `LOG_LEVEL=warn` and the configuration file. `process.env` is not read, so a test runs
   * the same on every machine; `DATABASE_URL` is always the test database's.
   */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /** A configuration file of the service's, instead of the bundled `config/default.yaml`. */
  readonly configFile?: string | undefined
  /** The service's own migrations, as for `PlatformKernel.layerWith`; they are part of the template. */
  readonly serviceMigrations?: MigrationOptions | undefined
  /** As for `PlatformKernel.layerWith` (default true: the configured `log.level`, here `warn`). */
  readonly logging?: boolean | undefined
  /** As for `PlatformKernel.layerWith` (default true: `rbac.roles` is applied to each new database). */
  readonly rbacBaseline?: boolean | undefined
  /**
   * A server to make the databases on, as a URL whose role may create databases (a superuser, or one with
   * `CREATEDB`). Default: `TEST_DATABASE_URL`, else an embedded server shared by the process.
   */
  readonly serverUrl?: string | undefined
}

/** The test server could not be used: it refused a connection, or creating or dropping a database. */
export class TestDatabaseError extends Schema.TaggedError<TestDatabaseError>()("TestDatabaseError", {
  message: Schema.String
}) {}

/** What `TestDatabase.layer` provides: everything `PlatformKernel.layer` does, and the database's identity. */
export type TestDatabaseServices = PlatformKernel.Services | TestDatabase

const withDatabase = (serverUrl: string, database: string): string => {
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  return url.toString()
}

/** The server's address for messages: never the password. */
const displayOf = (serverUrl: string): string => {
  try {
    const url = new URL(serverUrl)
    url.password = ""
    return `${url.host}${url.pathname}`
  } catch {
    return "<malformed URL>"
  }
}

const adminClient = (serverUrl: Redacted.Redacted<string>) =>
  // Two connections: one holds the template lock while the other creates and marks the template.
  PgClient.layer({ url: serverUrl, maxConnections: 2, applicationName: "platform-kernel-testing" })

/** The configured server, or the process's embedded one. */
const testServer = (serverUrl: string | undefined) => {
  const url = serverUrl ?? process.env.TEST_DATABASE_URL
  return url !== undefined && url !== ""
    ? Effect.succeed(Redacted.make(url))
    : Effect.map(SharedEmbeddedServer.acquire, (server) => server.url)
}

/** The kernel's migrations, then the service's (given in code, else configured), read for the template's name. */
const migrationSets = (config: AppConfigValues, serviceMigrations: MigrationOptions | undefined) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const service =
      serviceMigrations === undefined
        ? configuredServiceMigrations(config)
        : Option.some({ ...serviceMigrations, directory: path.resolve(serviceMigrations.directory) })
    const sets = [kernelMigrations(config), ...Option.toArray(service)]
    return yield* Effect.forEach(sets, (options) =>
      Effect.map(readMigrationFiles(options.directory), (files) => ({ options, files }))
    )
  }).pipe(Effect.provide(NodeFiles.layer))

const setUp = (
  options: TestDatabaseOptions,
  env: Readonly<Record<string, string | undefined>>,
  config: AppConfigValues
) =>
  Effect.gen(function* () {
    const configAt = (databaseUrl: string, extra: Record<string, string> = {}): LoadOptions => ({
      path: options.configFile,
      env: { ...env, ...extra, DATABASE_URL: databaseUrl }
    })
    const serverUrl = yield* testServer(options.serverUrl)
    const server = Redacted.value(serverUrl)
    const unusable = (what: string) => (error: SqlError.SqlError) =>
      new TestDatabaseError({ message: `${what} on ${displayOf(server)}: ${describeSqlError(error)}` })
    const admin = adminClient(serverUrl)

    const template = templateName(yield* migrationSets(config, options.serviceMigrations))
    // The template is migrated by the same layer as every database: what the clones get is what a service gets.
    const migrateTemplate = Effect.scoped(
      Layer.build(
        Database.layerWith({ serviceMigrations: options.serviceMigrations }).pipe(
          Layer.provide(
            AppConfig.layer(
              configAt(withDatabase(server, template), {
                DATABASE_MIGRATIONS_RUN: "true",
                DATABASE_POOL_MIN_CONNECTIONS: "0",
                DATABASE_POOL_MAX_CONNECTIONS: "2"
              })
            )
          )
        )
      )
    )
    const [templateTime, created] = yield* ensureTemplate(template, migrateTemplate).pipe(
      Effect.timed,
      Effect.provide(admin),
      Effect.catchTag("SqlError", (error) => Effect.fail(unusable(`cannot make the template ${template}`)(error)))
    )
    if (created) {
      yield* Effect.logInfo("test database template created").pipe(
        Effect.annotateLogs({ template, durationMs: Math.round(Duration.toMillis(templateTime)) })
      )
    }

    const name = cloneName()
    const [cloneTime] = yield* Effect.acquireRelease(
      cloneTemplate(template, name).pipe(
        Effect.timed,
        Effect.provide(admin),
        Effect.mapError(unusable(`cannot create the test database ${name}`))
      ),
      () =>
        dropDatabase(name).pipe(
          Effect.provide(admin),
          Effect.catch((error) =>
            Effect.logWarning("cannot drop the test database").pipe(
              Effect.annotateLogs({ database: name, reason: describeSqlError(error) })
            )
          )
        )
    )
    yield* Effect.logDebug("test database created").pipe(
      Effect.annotateLogs({ database: name, template, durationMs: Math.round(Duration.toMillis(cloneTime)) })
    )

    const url = withDatabase(server, name)
    return PlatformKernel.layerWith({
      config: configAt(url),
      serviceMigrations: options.serviceMigrations,
      logging: options.logging,
      rbacBaseline: options.rbacBaseline
    }).pipe(Layer.merge(Layer.succeed(TestDatabase, TestDatabase.of({ name, url: Redacted.make(url), template }))))
  })

const make = (options: TestDatabaseOptions) =>
  Effect.gen(function* () {
    const env = { LOG_LEVEL: "warn", ...options.env }
    const config = yield* loadAppConfig({ path: options.configFile, env }).pipe(Effect.provide(NodeFiles.layer))
    // Waiting for a busy template and timing the steps need real time, also inside a test that controls
    // time (`TestClock`, which @effect/vitest also gives to the layers of `layer(...)`).
    const setup = setUp(options, env, config).pipe(Effect.provideService(Clock.Clock, Clock.Clock.defaultValue()))
    // Until the kernel's layer installs the configured logger, the setup logs as configured too.
    return yield* options.logging === false ? setup : setup.pipe(Effect.provide(Logging.layer(config.log)))
  })

/**
 * A PostgreSQL database of its own for each build of `TestDatabase.layer`, migrated, dropped when the layer is
 * released (sessions still on it are ended). It is copied (`CREATE DATABASE ... TEMPLATE`) from a template
 * migrated once per schema: the template's name is a hash of the kernel's and the service's migration files,
 * and concurrent test processes queue on an advisory lock, so one makes it and the others copy it. Templates
 * stay on the server, to be reused by later runs (drop `platform_kernel_template_*` to reclaim the space).
 */
export class TestDatabase extends Context.Service<
  TestDatabase,
  {
    /** The database's name (`platform_kernel_test_...`). */
    readonly name: string
    /** Its URL, with the server's credentials. */
    readonly url: Redacted.Redacted<string>
    /** The template it was copied from. */
    readonly template: string
  }
>()("platform-kernel/testing/TestDatabase") {
  /**
   * What `PlatformKernel.layer` provides (repositories, `SqlClient`, `PgClient`, `AppConfig`,
   * `DatabaseMigrations`, ...), on a new migrated database on `TEST_DATABASE_URL`, else on an embedded server
   * started for the process (stopped when its last test database is released). Each call is a layer of its
   * own; provide one per test file, e.g. `layer(TestDatabase.layer())("suite", (it) => ...)` with
   * `@effect/vitest`.
   */
  static readonly layer = (
    options: TestDatabaseOptions = {}
  ): Layer.Layer<TestDatabaseServices, PlatformKernel.Error | TestDatabaseError> => Layer.unwrap(make(options))
}
