/** `database.migrations.service`: a service's own migrations, configured by file or environment. */
import { resolve } from "node:path"
import { NodeFileSystem, NodePath } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option } from "effect"
import { type LoadOptions, loadAppConfig } from "../../src/Config/AppConfig.ts"
import { ConfigLoadError } from "../../src/Config/ConfigError.ts"
import { configuredServiceMigrations } from "../../src/Database/Migrations/DatabaseMigrations.ts"

const load = (options: LoadOptions) =>
  loadAppConfig(options).pipe(Effect.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer)))

const loadError = (env: Record<string, string>) =>
  Effect.gen(function* () {
    const exit = yield* Effect.exit(load({ env }))
    if (Exit.isSuccess(exit)) return assert.fail("the configuration loaded but should have been refused")
    const reason = exit.cause.reasons[0]
    assert.strictEqual(reason?._tag, "Fail")
    const failure = (reason as { error: unknown }).error
    assert.instanceOf(failure, ConfigLoadError)
    return (failure as ConfigLoadError).message
  })

describe("database.migrations.service", () => {
  it.effect("is empty by default: the service has no migrations of its own", () =>
    Effect.gen(function* () {
      const config = yield* load({ env: {} })
      assert.deepStrictEqual(config.database.migrations.service, { directory: "", table: "", schema: "" })
      assert.isTrue(Option.isNone(configuredServiceMigrations(config)))
    })
  )

  it.effect("is set from the environment; the directory is made absolute, an empty schema means none", () =>
    Effect.gen(function* () {
      const withSchema = yield* load({
        env: {
          DATABASE_MIGRATIONS_SERVICE_DIRECTORY: "service/migrations",
          DATABASE_MIGRATIONS_SERVICE_TABLE: "orders_migrations",
          DATABASE_MIGRATIONS_SERVICE_SCHEMA: "orders"
        }
      })
      assert.deepStrictEqual(
        configuredServiceMigrations(withSchema),
        Option.some({ directory: resolve("service/migrations"), table: "orders_migrations", schema: "orders" })
      )
      const inPublic = yield* load({
        env: { DATABASE_MIGRATIONS_SERVICE_DIRECTORY: "/srv/m", DATABASE_MIGRATIONS_SERVICE_TABLE: "orders_migrations" }
      })
      assert.deepStrictEqual(
        configuredServiceMigrations(inPublic),
        Option.some({ directory: "/srv/m", table: "orders_migrations", schema: undefined })
      )
      // The kernel's folder is untouched: the service's migrations come on top of it.
      assert.strictEqual(inPublic.database.migrations.directory, withSchema.database.migrations.directory)
    })
  )

  it.effect(
    "a directory needs a table of its own, named like an identifier; bad names are refused naming the key",
    () =>
      Effect.gen(function* () {
        const directory = { DATABASE_MIGRATIONS_SERVICE_DIRECTORY: "/srv/m" }
        assert.strictEqual(
          yield* loadError(directory),
          "database.migrations.service.table: required when database.migrations.service.directory is set (from DATABASE_MIGRATIONS_SERVICE_DIRECTORY)"
        )
        assert.strictEqual(
          yield* loadError({ ...directory, DATABASE_MIGRATIONS_SERVICE_TABLE: "schema_migrations" }),
          `database.migrations.service.table: expected a table other than the kernel's database.migrations.table, got the same name (from DATABASE_MIGRATIONS_SERVICE_TABLE)`
        )
        assert.strictEqual(
          yield* loadError({ ...directory, DATABASE_MIGRATIONS_SERVICE_TABLE: "orders.migrations" }),
          "database.migrations.service.table: expected an SQL identifier (letters, digits and _, at most 63), or empty, got a string of 17 characters (from DATABASE_MIGRATIONS_SERVICE_TABLE)"
        )
        assert.strictEqual(
          yield* loadError({
            ...directory,
            DATABASE_MIGRATIONS_SERVICE_TABLE: "m",
            DATABASE_MIGRATIONS_SERVICE_SCHEMA: "pg_orders"
          }),
          "database.migrations.service.schema: expected a schema name (letters, digits and _, at most 63, not starting with pg_), or empty, got a string of 9 characters (from DATABASE_MIGRATIONS_SERVICE_SCHEMA)"
        )
        assert.strictEqual(
          yield* loadError({ ...directory, DATABASE_MIGRATIONS_SERVICE_TABLE: "m".repeat(64) }),
          `database.migrations.service.table: expected an SQL identifier (letters, digits and _, at most 63), or empty, got a string of 64 characters (from DATABASE_MIGRATIONS_SERVICE_TABLE)`
        )
      })
  )
})
