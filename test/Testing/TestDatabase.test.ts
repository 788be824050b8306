/**
 * `TestDatabase.layer` from `platform-kernel/testing`: a migrated database of its own per build, copied from a
 * template made once per schema, on a given server or on an embedded one shared by the process.
 */
import { randomBytes } from "node:crypto"
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll } from "vitest"
import { TestDatabase, type TestDatabaseOptions } from "../../src/Database/Testing.ts"
import { UserRepository } from "../../src/index.ts"
import { withAdmin } from "../support/adminClient.ts"
import { runScript, sourcePath } from "../support/NodeScript.ts"
import { adminUrl } from "../support/TestDatabase.ts"

const tempRoot = mkdtempSync(join(tmpdir(), "pk-testing-test-"))
// As root, an embedded server runs as "postgres", which must be able to enter the directories above its data.
chmodSync(tempRoot, 0o755)
afterAll(() => rmSync(tempRoot, { recursive: true, force: true }))

/** A new folder holding `files` (name -> SQL). */
const folder = (files: Record<string, string>): string => {
  const directory = mkdtempSync(join(tempRoot, "migrations-"))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(directory, name), text)
  return directory
}

const kernelMigrationIds = readdirSync(new URL("../../migrations", import.meta.url))
  .filter((name) => name.endsWith(".sql"))
  .map((name) => Number(name.split("_")[0]))
  .toSorted((a, b) => a - b)

const onTestServer = (options: TestDatabaseOptions = {}) => TestDatabase.layer({ serverUrl: adminUrl(), ...options })

/** Which of `names` the server has, with whether each is a template and accepts connections. */
const databasesOnServer = (names: ReadonlyArray<string>) =>
  withAdmin(
    adminUrl(),
    (admin) =>
      admin<{
        readonly datname: string
        readonly datistemplate: boolean
        readonly datallowconn: boolean
      }>`SELECT datname::text, datistemplate, datallowconn FROM pg_database WHERE datname::text = ANY(${names}) ORDER BY datname`
  ).pipe(Effect.orDie)

/** Drops the template `name` when it exists (finished or not). */
const dropTemplate = (name: string) =>
  withAdmin(adminUrl(), (admin) =>
    Effect.andThen(
      Effect.ignore(admin.unsafe(`ALTER DATABASE ${name} WITH IS_TEMPLATE false`)),
      admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    )
  ).pipe(Effect.orDie)

/** What a built test database holds: its identity, the database its pool is on, the migrations applied. */
const inspect = Effect.gen(function* () {
  const database = yield* TestDatabase
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{
    readonly current: string
    readonly applied: ReadonlyArray<number>
  }>`SELECT current_database()::text AS current, (SELECT array_agg(migration_id ORDER BY migration_id) FROM schema_migrations) AS applied`
  return { ...database, current: row!.current, applied: row!.applied }
})

describe("TestDatabase.layer", () => {
  it.live("gives each build a migrated database of its own, and drops it on release", () =>
    Effect.gen(function* () {
      const [a, b] = yield* Effect.scoped(
        Effect.gen(function* () {
          const [first, second] = yield* Effect.all([Layer.build(onTestServer()), Layer.build(onTestServer())], {
            concurrency: 2
          })
          const a = yield* Effect.provide(inspect, first)
          const b = yield* Effect.provide(inspect, second)
          assert.notStrictEqual(a.name, b.name)
          for (const database of [a, b]) {
            assert.strictEqual(database.current, database.name)
            assert.deepStrictEqual(database.applied.map(Number), kernelMigrationIds)
          }
          // Separate data, not only separate names.
          const email = `${randomBytes(4).toString("hex")}@example.io`
          yield* UserRepository.use((users) => users.create({ email, passwordHash: Redacted.make("hash") })).pipe(
            Effect.provide(first)
          )
          const inSecond = yield* UserRepository.use((users) => Effect.flip(users.findByEmail(email))).pipe(
            Effect.provide(second)
          )
          assert.strictEqual(inSecond._tag, "UserNotFound")
          assert.lengthOf(yield* databasesOnServer([a.name, b.name]), 2)
          return [a, b] as const
        })
      )
      assert.deepStrictEqual(yield* databasesOnServer([a.name, b.name]), [])
      // Both were copied from one template, which stays, finished and closed to connections.
      assert.strictEqual(a.template, b.template)
      assert.deepStrictEqual(yield* databasesOnServer([a.template]), [
        { datname: a.template, datistemplate: true, datallowconn: false }
      ])
    })
  )

  it.live("names the template after the migrations: the same files share one, a changed file makes another", () =>
    Effect.gen(function* () {
      const notes = "CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL);\n"
      const built = (directory: string) =>
        Effect.scoped(
          Effect.gen(function* () {
            const context = yield* Layer.build(
              onTestServer({ serviceMigrations: { directory, table: "notes_migrations" } })
            )
            const sql = Context.get(context, SqlClient.SqlClient)
            // The service's table and history came with the copy.
            const [row] = yield* sql<{
              readonly notes: number
              readonly applied: number
            }>`SELECT (SELECT count(*)::int FROM notes) AS notes, (SELECT count(*)::int FROM notes_migrations) AS applied`
            assert.deepStrictEqual(row, { notes: 0, applied: 1 })
            return Context.get(context, TestDatabase).template
          })
        )
      const kernelOnly = yield* Effect.scoped(
        Effect.map(Layer.build(onTestServer()), (context) => Context.get(context, TestDatabase).template)
      )
      const first = yield* built(folder({ "0001_notes.sql": notes }))
      const sameFilesElsewhere = yield* built(folder({ "0001_notes.sql": notes }))
      const changed = yield* built(folder({ "0001_notes.sql": `${notes}CREATE INDEX notes_body ON notes (body);\n` }))
      assert.strictEqual(sameFilesElsewhere, first)
      assert.notStrictEqual(changed, first)
      assert.notStrictEqual(first, kernelOnly)
      assert.match(first, /^platform_kernel_template_[0-9a-f]{20}$/)
    })
  )

  it.live("(SLOW: 2 processes) makes the template once when two processes ask for it at the same time", () =>
    Effect.gen(function* () {
      // A template no run has made yet, slow to migrate: the second process asks while the first is making it.
      const directory = folder({
        "0001_slow.sql": `-- run ${randomBytes(8).toString("hex")}\nSELECT pg_sleep(1);\nCREATE TABLE slow (id int);\n`
      })
      const script = `
        import { Context, Effect, Layer } from "effect"
        import { SqlClient } from "effect/sql"
        const { TestDatabase } = await import(${sourcePath("src/Database/Testing.ts")})
        const layer = TestDatabase.layer({
          serverUrl: ${JSON.stringify(adminUrl())},
          serviceMigrations: { directory: ${JSON.stringify(directory)}, table: "slow_migrations" },
          env: { LOG_LEVEL: "info", LOG_FORMAT: "json" }
        })
        const report = await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
          const context = yield* Layer.build(layer)
          const sql = Context.get(context, SqlClient.SqlClient)
          const [row] = yield* sql\`SELECT count(*)::int AS applied FROM slow_migrations\`
          const { name, template } = Context.get(context, TestDatabase)
          return { name, template, applied: row.applied }
        })))
        console.log(JSON.stringify({ report }))`
      const results = yield* Effect.promise(() => Promise.all([runScript(script), runScript(script)]))
      // This run's template is of no use to another: drop it, whatever the outcome.
      const templates = new Set(
        results.flatMap(
          (result) => `${result.stdout}${result.stderr}`.match(/platform_kernel_template_[0-9a-f]{20}/g) ?? []
        )
      )
      yield* Effect.addFinalizer(() => Effect.forEach(templates, dropTemplate, { discard: true }))
      const reports = results.map((result) => {
        assert.strictEqual(result.code, 0, result.stderr)
        const lines = result.stdout.split("\n").filter((line) => line.startsWith("{"))
        return {
          created: lines.filter((line) => line.includes('"test database template created"')).length,
          report: lines.map((line) => JSON.parse(line)).find((line) => "report" in line).report
        }
      })
      const [a, b] = reports
      assert.strictEqual(a!.created + b!.created, 1)
      assert.strictEqual(a!.report.template, b!.report.template)
      assert.notStrictEqual(a!.report.name, b!.report.name)
      assert.deepStrictEqual([a!.report.applied, b!.report.applied], [1, 1])
      assert.deepStrictEqual(yield* databasesOnServer([a!.report.name, b!.report.name]), [])
    }).pipe(Effect.scoped)
  )

  it("(SLOW: an embedded server) without a server, shares one embedded server per process and stops it after the last release", async () => {
    // Its own temporary directory, to see the server's data come and go.
    const tmp = mkdtempSync(join(tempRoot, "tmp-"))
    chmodSync(tmp, 0o755)
    const result = await runScript(
      `
      import { connect } from "node:net"
      import { readdirSync } from "node:fs"
      import { tmpdir } from "node:os"
      import { Context, Effect, Layer, Redacted } from "effect"
      const { TestDatabase } = await import(${sourcePath("src/Database/Testing.ts")})
      const portOf = (context) => new URL(Redacted.value(Context.get(context, TestDatabase).url)).port
      const during = await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
        const [a, b] = yield* Effect.all([Layer.build(TestDatabase.layer()), Layer.build(TestDatabase.layer())], { concurrency: 2 })
        return { ports: [portOf(a), portOf(b)], tmp: readdirSync(tmpdir()) }
      })))
      const refused = await new Promise((resolve) => {
        const socket = connect(Number(during.ports[0]), "127.0.0.1")
        socket.once("connect", () => { socket.destroy(); resolve(false) })
        socket.once("error", () => resolve(true))
      })
      console.log(JSON.stringify({ ...during, refused, tmpAfter: readdirSync(tmpdir()) }))`,
      { env: { TMPDIR: tmp }, timeoutMs: 90_000 }
    )
    // It exited on its own: the server's process, a child of it, is gone.
    assert.strictEqual(result.code, 0, result.stderr)
    const report = JSON.parse(result.stdout.trim().split("\n").at(-1)!)
    assert.strictEqual(report.ports[0], report.ports[1])
    assert.lengthOf(
      report.tmp.filter((name: string) => name.startsWith("platform-kernel-testing-")),
      1
    )
    assert.isTrue(report.refused, "the server still accepts connections after the last release")
    assert.deepStrictEqual(report.tmpAfter, [])
  }, 120_000)

  it("has no side effect when imported: no listener, timer, handle or global", async () => {
    const result = await runScript(
      `const events = ["SIGTERM", "SIGINT", "SIGHUP", "beforeExit", "exit", "uncaughtException", "unhandledRejection"]
       // The peers first: what they do when loaded is theirs (effect keeps its current fiber on globalThis).
       await import("effect"), await import("@effect/sql-pg"), await import("@effect/platform-node")
       const snapshot = () => ({
         listeners: events.map((e) => e + ":" + process.listenerCount(e)),
         resources: process.getActiveResourcesInfo().sort(),
         globals: Reflect.ownKeys(globalThis).map(String).sort()
       })
       void process.stdout, process.stderr
       const before = snapshot()
       await import(${sourcePath("src/Database/Testing.ts")})
       console.log(JSON.stringify({ before, after: snapshot() }))`
    )
    assert.strictEqual(result.code, 0, result.stderr)
    const { before, after } = JSON.parse(result.stdout)
    assert.deepStrictEqual(after, before)
  })
})
