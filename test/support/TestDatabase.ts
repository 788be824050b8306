import { randomBytes } from "node:crypto"
import { NodeFileSystem, NodePath } from "@effect/platform-node"
import { Effect, Exit, Layer, Schedule, Scope } from "effect"
import { afterAll, beforeAll, inject } from "vitest"
import { AppConfig, loadAppConfig } from "../../src/Config/AppConfig.ts"
import * as Database from "../../src/Database/Database.ts"
import { withAdmin } from "./adminClient.ts"
import { databaseUrl, MIGRATIONS_TABLE } from "./urls.ts"

export const adminUrl = (): string => inject("adminUrl")
export const serverKind = (): string => inject("serverKind")

/** The bundled configuration with test overrides, as the environment would give them. */
export const testConfig = (env: Record<string, string> = {}) =>
  loadAppConfig({
    env: { LOG_LEVEL: "warn", DATABASE_MIGRATIONS_TABLE: MIGRATIONS_TABLE, DATABASE_POOL_MIN_CONNECTIONS: "0", ...env }
  }).pipe(Effect.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer)), Effect.orDie)

const uniqueName = (prefix: string) => `${prefix}_${randomBytes(6).toString("hex")}`

/**
 * A database of its own for the current scope, dropped (with any session still on it) when the scope
 * closes. Cloned from the migrated template, or empty.
 */
export const scopedDatabase = (options: { readonly from: "template" | "empty" }) =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const name = uniqueName("pk_test")
      const template = options.from === "template" ? ` TEMPLATE ${inject("templateDatabase")}` : ""
      yield* withAdmin(adminUrl(), (admin) => admin.unsafe(`CREATE DATABASE ${name}${template}`)).pipe(
        // Cloning fails while another clone of the same template is being made: wait our turn.
        Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 50 })
      )
      return { name, url: databaseUrl(adminUrl(), name) }
    }).pipe(Effect.orDie),
    ({ name }) =>
      withAdmin(adminUrl(), (admin) => admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).pipe(Effect.ignore)
  )

/** `AppConfig` + the migrated database layer (`PgClient`, `SqlClient`, `DatabaseMigrations`) on a fresh clone. */
export const TestDatabaseLayer = (env: Record<string, string> = {}) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const database = yield* scopedDatabase({ from: "template" })
      const config = yield* testConfig({ DATABASE_URL: database.url, ...env })
      return Database.layer.pipe(Layer.provideMerge(AppConfig.layerFrom(config)))
    })
  )

/**
 * A database cloned from the template for the whole test file (vitest's beforeAll / afterAll), dropped after it:
 * `url()` reads it from inside a test.
 */
export const databaseForFile = (): { readonly url: () => string } => {
  let database: { readonly url: string; readonly close: () => Promise<void> } | undefined
  beforeAll(async () => {
    const scope = Effect.runSync(Scope.make())
    const made = await Effect.runPromise(Scope.provide(scopedDatabase({ from: "template" }), scope))
    database = { url: made.url, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
  })
  afterAll(() => database?.close())
  return {
    url: () => {
      if (database === undefined) throw new Error("databaseForFile: the database is made in beforeAll")
      return database.url
    }
  }
}
