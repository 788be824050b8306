/**
 * A service's own migrations beside the kernel's, on real PostgreSQL: one database shared by the kernel,
 * service A (its tables and history in schema `a`) and service B (its own history table in `public`).
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Option, References } from "effect"
import { SqlClient } from "effect/sql"
import { MigrationError } from "effect/sql/Migrator"
import { afterAll } from "vitest"
import { AppConfig } from "../../../src/Config/AppConfig.ts"
import * as Database from "../../../src/Database/Database.ts"
import {
  DatabaseMigrations,
  type DatabaseMigrationsOptions,
  type MigrationOptions
} from "../../../src/Database/Migrations/DatabaseMigrations.ts"
import { withAdmin } from "../../support/adminClient.ts"
import { scopedDatabase, testConfig } from "../../support/TestDatabase.ts"
import { MIGRATIONS_TABLE } from "../../support/urls.ts"

const tempRoot = mkdtempSync(join(tmpdir(), "pk-service-migrations-test-"))
afterAll(() => rmSync(tempRoot, { recursive: true, force: true }))

/** A new folder holding `files` (name -> SQL). */
const folder = (files: Record<string, string>): string => {
  const directory = mkdtempSync(join(tempRoot, "service-"))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(directory, name), text)
  return directory
}

// Both services create a table named `orders`: A's must land in schema a, B's in public. A's refers to the
// kernel's users table, which it must still find with its schema first on the search_path.
const serviceA = (): MigrationOptions => ({
  directory: folder({
    "0001_orders.sql":
      "CREATE TABLE orders (id bigint PRIMARY KEY, user_id uuid NOT NULL REFERENCES users (id));\n" +
      "CREATE INDEX orders_user_idx ON orders (user_id);\n",
    "0002_order_lines.sql": "CREATE TABLE order_lines (order_id bigint NOT NULL REFERENCES orders (id), sku text);\n"
  }),
  table: "service_migrations",
  schema: "a"
})
const serviceBFiles = { "0001_orders.sql": "CREATE TABLE orders (invoice text PRIMARY KEY);\n" }
const B_TABLE = "billing_migrations"

interface Applied {
  readonly kernel: ReadonlyArray<number>
  readonly service: ReadonlyArray<number> | null
  /** The search_path a query on the layer's pool sees afterwards. */
  readonly searchPath: string
}

/**
 * Builds the migrations layer against `url` (with `env` as the environment gives it, and `options` as code
 * gives them), then releases it; the ids each history applied.
 */
const migrate = (url: string, options: { env?: Record<string, string>; code?: DatabaseMigrationsOptions } = {}) =>
  Effect.scoped(
    Effect.gen(function* () {
      const config = yield* testConfig({ DATABASE_URL: url, ...options.env })
      const layer = (
        options.code === undefined ? DatabaseMigrations.layer : DatabaseMigrations.layerWith(options.code)
      ).pipe(Layer.provideMerge(Database.layerConnection), Layer.provide(AppConfig.layerFrom(config)))
      const context = yield* Layer.build(layer)
      const migrations = Context.get(context, DatabaseMigrations)
      const sql = Context.get(context, SqlClient.SqlClient)
      const [row] = yield* sql<{ readonly path: string }>`SELECT current_setting('search_path') AS path`
      return {
        kernel: migrations.appliedAtStartup.map(([id]) => id),
        service: Option.getOrNull(
          Option.map(migrations.service, (service) => service.appliedAtStartup.map(([id]) => id))
        ),
        searchPath: row!.path
      } satisfies Applied
    }).pipe(Effect.provideService(References.MinimumLogLevel, "Warn"))
  )

/** The MigrationError a build must fail with. */
const refusal = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const exit = yield* Effect.exit(effect)
    if (Exit.isSuccess(exit)) return assert.fail(`expected a refusal, got ${JSON.stringify(exit.value)}`)
    const reason = exit.cause.reasons[0]
    assert.strictEqual(reason?._tag, "Fail", String(exit.cause))
    const error = (reason as { error: unknown }).error
    assert.instanceOf(error, MigrationError)
    return error as MigrationError
  })

const historyIds = (url: string, table: string) =>
  withAdmin(url, (sql) =>
    sql<{
      readonly id: number
      readonly hasSha: boolean
    }>`SELECT migration_id AS id, sha256 IS NOT NULL AS "hasSha" FROM ${sql(table)} ORDER BY migration_id`.withoutTransform.pipe(
      Effect.map((rows) => rows.map((row) => (row.hasSha ? row.id : -row.id)))
    )
  ).pipe(Effect.orDie)

const relationExists = (url: string, name: string) =>
  withAdmin(url, (sql) =>
    sql<{ readonly found: boolean }>`SELECT to_regclass(${name}) IS NOT NULL AS found`.pipe(
      Effect.map((rows) => rows[0]!.found)
    )
  ).pipe(Effect.orDie)

describe("a service's own migrations", () => {
  it.live(
    "kernel, service A in schema a and service B in public share one database: each applied once, in its own history",
    () =>
      Effect.gen(function* () {
        const { url } = yield* scopedDatabase({ from: "empty" })
        const a = serviceA()
        const b = folder(serviceBFiles)
        // Service A composes layers and gives its migrations in code; service B configures them.
        const bEnv = { DATABASE_MIGRATIONS_SERVICE_DIRECTORY: b, DATABASE_MIGRATIONS_SERVICE_TABLE: B_TABLE }

        // One connection, so the query after the migrations runs on the session that applied them.
        const first = yield* migrate(url, {
          code: { serviceMigrations: a },
          env: { DATABASE_POOL_MAX_CONNECTIONS: "1" }
        })
        assert.deepStrictEqual(
          [first.kernel, first.service],
          [
            [1, 2, 3, 4, 5, 6],
            [1, 2]
          ]
        )
        // Schema a was first on the search_path for the migrations' transaction only.
        assert.strictEqual(first.searchPath, '"$user", public')
        const ids = ({ kernel, service }: Applied) => ({ kernel, service })
        assert.deepStrictEqual(ids(yield* migrate(url, { env: bEnv })), { kernel: [], service: [1] })
        // Re-runs are no-ops, for both.
        assert.deepStrictEqual(ids(yield* migrate(url, { code: { serviceMigrations: a } })), {
          kernel: [],
          service: []
        })
        assert.deepStrictEqual(ids(yield* migrate(url, { env: bEnv })), { kernel: [], service: [] })
        // Without a service, only the kernel's history is read.
        assert.deepStrictEqual(ids(yield* migrate(url)), { kernel: [], service: null })

        // Each history holds its own ids, every one with its checksum.
        assert.deepStrictEqual(yield* historyIds(url, MIGRATIONS_TABLE), [1, 2, 3, 4, 5, 6])
        assert.deepStrictEqual(yield* historyIds(url, "a.service_migrations"), [1, 2])
        assert.deepStrictEqual(yield* historyIds(url, `public.${B_TABLE}`), [1])
        // A's files ran with schema a first on the search_path; B's in public.
        for (const name of ["a.orders", "a.order_lines", "a.orders_user_idx", "public.orders", "public.users"]) {
          assert.isTrue(yield* relationExists(url, name), name)
        }
        for (const name of ["public.order_lines", "public.service_migrations", "a.users", `a.${B_TABLE}`]) {
          assert.isFalse(yield* relationExists(url, name), name)
        }
      }).pipe(Effect.scoped),
    { timeout: 60_000 }
  )

  it.live("a changed applied service file is refused, naming the file and the history; nothing later runs", () =>
    Effect.gen(function* () {
      const { url } = yield* scopedDatabase({ from: "template" })
      const a = serviceA()
      const applied = yield* migrate(url, { code: { serviceMigrations: a } })
      assert.deepStrictEqual([applied.kernel, applied.service], [[], [1, 2]])
      appendFileSync(join(a.directory, "0001_orders.sql"), "\n-- an innocent-looking edit\n")
      writeFileSync(join(a.directory, "0003_refunds.sql"), "CREATE TABLE refunds (id int);\n")

      const error = yield* refusal(migrate(url, { code: { serviceMigrations: a } }))
      assert.strictEqual(error.kind, "BadState")
      assert.include(error.message, "refusing to migrate (history a.service_migrations")
      assert.include(error.message, "0001_orders.sql has changed since it was applied")
      assert.isFalse(yield* relationExists(url, "a.refunds"))
      assert.deepStrictEqual(yield* historyIds(url, "a.service_migrations"), [1, 2])
    }).pipe(Effect.scoped)
  )

  it.live("with database.migrations.run false, pending service migrations stop startup", () =>
    Effect.gen(function* () {
      const { url } = yield* scopedDatabase({ from: "template" })
      const directory = folder(serviceBFiles)
      const error = yield* refusal(
        migrate(url, {
          env: {
            DATABASE_MIGRATIONS_RUN: "false",
            DATABASE_MIGRATIONS_SERVICE_DIRECTORY: directory,
            DATABASE_MIGRATIONS_SERVICE_TABLE: B_TABLE
          }
        })
      )
      assert.include(error.message, "1 service migration(s) pending and database.migrations.run is false")
      assert.isFalse(yield* relationExists(url, "public.orders"))
    }).pipe(Effect.scoped)
  )

  it.live("options given in code are checked, naming the field", () =>
    Effect.gen(function* () {
      const { url } = yield* scopedDatabase({ from: "template" })
      const directory = folder(serviceBFiles)
      const cases: ReadonlyArray<readonly [MigrationOptions, string]> = [
        [
          { directory, table: MIGRATIONS_TABLE },
          `serviceMigrations.table: expected a table other than the kernel's (database.migrations.table), got the same name`
        ],
        [
          { directory, table: "svc.history" },
          "serviceMigrations.table: expected an SQL identifier (letters, digits and _, at most 63), got a string of 11 characters"
        ],
        [
          { directory, table: "svc_history", schema: "pg_svc" },
          "serviceMigrations.schema: expected a schema name (letters, digits and _, at most 63, not starting with pg_), got a string of 6 characters"
        ],
        [
          { directory: "", table: "svc_history" },
          "serviceMigrations.directory: expected a folder of NNNN_name.sql files, got an empty string"
        ]
      ]
      for (const [serviceMigrations, message] of cases) {
        const error = yield* refusal(migrate(url, { code: { serviceMigrations } }))
        assert.strictEqual(error.message, message)
      }
      assert.isFalse(yield* relationExists(url, "public.orders"))
    }).pipe(Effect.scoped)
  )
})
