/**
 * One PostgreSQL server for the whole run: `TEST_DATABASE_URL` when set, else an embedded server in a
 * temporary directory. A template database is migrated once; every test file clones its own database
 * from it (see TestDatabase.ts), so files run in parallel without seeing each other's rows.
 */
import { chmod, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem, NodePath } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Layer, Redacted, References, Scope } from "effect"
import type { TestProject } from "vitest/node"
import { bundledMigrationsDirectory } from "../../src/Config/AppConfig.ts"
import { startEmbeddedPostgres } from "../../src/Database/Embedded/EmbeddedPostgres.ts"
import { applyMigrations } from "../../src/Database/Migrations/DatabaseMigrations.ts"
import { withAdmin } from "./adminClient.ts"
import { freePort } from "./freePort.ts"
import { databaseUrl, MIGRATIONS_TABLE } from "./urls.ts"

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of the test server's maintenance database (with credentials). */
    adminUrl: string
    templateDatabase: string
    /** "service" or "embedded": which server the run uses. */
    serverKind: string
  }
}

export default async function setup(project: TestProject) {
  const scope = Effect.runSync(Scope.make())
  const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
    Effect.runPromise(Effect.provideService(effect, Scope.Scope, scope))
  let dataRoot: string | undefined

  let adminUrl = process.env.TEST_DATABASE_URL
  let serverKind = "service"
  if (adminUrl === undefined || adminUrl === "") {
    serverKind = "embedded"
    dataRoot = await mkdtemp(join(tmpdir(), "platform-kernel-test-"))
    // The server runs as the "postgres" user when we are root; it must be able to reach its directory.
    await chmod(dataRoot, 0o755)
    const server = await run(
      startEmbeddedPostgres({ dataDir: join(dataRoot, "data"), port: await freePort(), initdbFlags: ["--no-sync"] })
    )
    adminUrl = Redacted.value(server.url)
  }

  const templateDatabase = `pk_template_${process.pid}`
  await Effect.runPromise(
    withAdmin(adminUrl, (admin) =>
      Effect.andThen(
        admin.unsafe(`DROP DATABASE IF EXISTS ${templateDatabase}`),
        admin.unsafe(`CREATE DATABASE ${templateDatabase}`)
      )
    )
  )
  await Effect.runPromise(
    Effect.scoped(
      applyMigrations({ directory: bundledMigrationsDirectory(), table: MIGRATIONS_TABLE }).pipe(
        Effect.provide(
          Layer.mergeAll(
            PgClient.layer({ url: Redacted.make(databaseUrl(adminUrl, templateDatabase)), maxConnections: 1 }),
            NodeFileSystem.layer,
            NodePath.layer
          )
        ),
        Effect.provideService(References.MinimumLogLevel, "Warn"),
        Effect.orDie
      )
    )
  ).catch(async (error) => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw error
  })

  // Tests that use the package's own `TestDatabase.layer` (the examples, as a consumer would) find the same
  // server: the workers inherit this process's environment.
  const givenTestDatabaseUrl = process.env.TEST_DATABASE_URL
  process.env.TEST_DATABASE_URL = adminUrl

  project.provide("adminUrl", adminUrl)
  project.provide("templateDatabase", templateDatabase)
  project.provide("serverKind", serverKind)

  return async () => {
    if (givenTestDatabaseUrl === undefined) delete process.env.TEST_DATABASE_URL
    else process.env.TEST_DATABASE_URL = givenTestDatabaseUrl
    await Effect.runPromise(
      withAdmin(adminUrl, (admin) => admin.unsafe(`DROP DATABASE IF EXISTS ${templateDatabase} WITH (FORCE)`)).pipe(
        Effect.ignore
      )
    )
    await Effect.runPromise(Scope.close(scope, Exit.void))
    if (dataRoot !== undefined) await rm(dataRoot, { recursive: true, force: true })
  }
}
