/**
 * The `platform-kernel` command line, end to end: each test runs `src/Main.ts` as a child process against
 * the test server (or a port where nothing listens) and checks exit codes, output and what it leaves behind.
 */
import { appendFileSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { afterAll } from "vitest"
import { bundledConfigFile, bundledMigrationsDirectory } from "../../src/Config/AppConfig.ts"
import { withAdmin } from "../support/adminClient.ts"
import { eventually } from "../support/Eventually.ts"
import { freePort } from "../support/freePort.ts"
import { sessionsNamed } from "../support/Sessions.ts"
import { scopedDatabase } from "../support/TestDatabase.ts"
import { MIGRATIONS_TABLE } from "../support/urls.ts"
import { type CliResult, getJson, jsonLines, pollUntil, REPO_ROOT, runCli, startCli } from "./runCli.ts"

const KNOWN_SECRET = "S3cr3t-Known-Pw"
const SHUTDOWN_TIMEOUT_MS = 3_000
// Node's start-up on a busy two-core machine is counted in the bounds below.
const MARGIN_MS = 5_000

const version: string = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).version

const tempRoot = mkdtempSync(join(tmpdir(), "pk-cli-test-"))
afterAll(() => rmSync(tempRoot, { recursive: true, force: true }))

const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}, timeoutMs = 30_000) =>
  Effect.promise(() => runCli(args, { env: { DATABASE_MIGRATIONS_TABLE: MIGRATIONS_TABLE, ...env }, timeoutMs }))

const describeRun = (result: CliResult) =>
  `exit ${result.code} (signal ${result.signal}, timed out ${result.timedOut})\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`

const nonEmptyLines = (text: string) => text.split("\n").filter((line) => line.trim() !== "")

/** No stack trace: no "    at f (file:line)" frames. */
const assertNoStackTrace = (result: CliResult) => {
  assert.notMatch(result.stderr, /^\s+at /m, describeRun(result))
  assert.notMatch(result.stdout, /^\s+at /m, describeRun(result))
}

/** A URL on a port where nothing listens, with the known secret as its password. */
const deadUrl = Effect.map(
  Effect.promise(freePort),
  (port) => ({ port, url: `postgres://postgres:${KNOWN_SECRET}@127.0.0.1:${port}/pk_nowhere` }) as const
)

/** Starts `serve`; killed (and awaited) when the scope closes if it is still running. */
const startServe = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      startCli(["serve"], { env: { DATABASE_MIGRATIONS_TABLE: MIGRATIONS_TABLE, ...env }, timeoutMs: 90_000 })
    ),
    (running) =>
      Effect.promise(async () => {
        if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill("SIGKILL")
        await running.exited
      })
  )

describe("platform-kernel CLI", () => {
  describe("help and version", () => {
    it.live("--help lists the subcommands and --config", () =>
      Effect.gen(function* () {
        const result = yield* run(["--help"])
        assert.strictEqual(result.code, 0, describeRun(result))
        for (const word of ["serve", "migrate", "status", "health", "audit"]) {
          assert.match(result.stdout, new RegExp(`^\\s+${word}\\s+\\S`, "m"), `${word} is not listed`)
        }
        assert.include(result.stdout, "--config")
      })
    )

    it.live("every subcommand has its own --help", () =>
      Effect.gen(function* () {
        const results = yield* Effect.forEach(
          ["serve", "migrate", "status", "health"],
          (command) => Effect.map(run([command, "--help"]), (result) => [command, result] as const),
          { concurrency: 2 }
        )
        for (const [command, result] of results) {
          assert.strictEqual(result.code, 0, describeRun(result))
          assert.include(result.stdout, `platform-kernel ${command}`)
          assert.include(result.stdout, "--config")
        }
        assert.include(results[2]![1].stdout, "--json")
      })
    )

    it.live("--version prints the package.json version", () =>
      Effect.gen(function* () {
        const result = yield* run(["--version"])
        assert.strictEqual(result.code, 0, describeRun(result))
        assert.match(result.stdout.trim(), new RegExp(`(^|\\s|v)${version.replaceAll(".", "\\.")}$`))
      })
    )
  })

  describe("serve", () => {
    it.live(
      "becomes ready, answers the probes, and on SIGTERM exits 0 in time leaving no session behind",
      () =>
        Effect.gen(function* () {
          const database = yield* scopedDatabase({ from: "template" })
          const port = yield* Effect.promise(freePort)
          const applicationName = `pk-e2e-serve-${process.pid}-${Date.now()}`
          const serve = yield* startServe({
            DATABASE_URL: database.url,
            // Unused next to DATABASE_URL, but it must never be printed either.
            DATABASE_PASSWORD: KNOWN_SECRET,
            DATABASE_APPLICATION_NAME: applicationName,
            HTTP_HOST: "127.0.0.1",
            HTTP_PORT: String(port),
            LOG_FORMAT: "json",
            LOG_LEVEL: "debug",
            SHUTDOWN_TIMEOUT: `${SHUTDOWN_TIMEOUT_MS} millis`
          })
          const exitedEarly = () =>
            serve.child.exitCode !== null ? `serve exited ${serve.child.exitCode}: ${serve.stderr()}` : undefined

          const ready = yield* Effect.promise(() =>
            pollUntil(
              "GET /readyz answers 200",
              async () => {
                const response = await getJson(`http://127.0.0.1:${port}/readyz`)
                return response.status === 200 ? response : undefined
              },
              { timeoutMs: 30_000, abort: exitedEarly }
            )
          )
          const report = ready.body as { status: string; migrations: unknown; pool: { max: number } }
          assert.strictEqual(report.status, "up")
          assert.deepStrictEqual(report.migrations, { latest: 6, pending: 0 })
          assert.strictEqual(report.pool.max, 10)
          const healthz = yield* Effect.promise(() => getJson(`http://127.0.0.1:${port}/healthz`))
          assert.deepStrictEqual(healthz, { status: 200, body: { status: "ok" } })
          const missing = yield* Effect.promise(() => getJson(`http://127.0.0.1:${port}/nope`))
          assert.strictEqual(missing.status, 404)
          assert.isAtLeast(yield* sessionsNamed(applicationName), 1)

          const signalledAt = Date.now()
          serve.child.kill("SIGTERM")
          const result = yield* Effect.promise(() => serve.exited)
          const shutdownMs = Date.now() - signalledAt
          assert.isFalse(result.timedOut, describeRun(result))
          assert.strictEqual(result.code, 0, describeRun(result))
          assert.isBelow(shutdownMs, SHUTDOWN_TIMEOUT_MS + MARGIN_MS)

          const messages = jsonLines(result.stdout).map((line) => line.message)
          assert.include(messages, "ready")
          assert.include(messages, "shutting down")
          assert.isBelow(messages.indexOf("ready"), messages.indexOf("shutting down"))
          assert.notInclude(result.stdout + result.stderr, KNOWN_SECRET)
          assertNoStackTrace(result)

          // The server drops a backend shortly after its client says goodbye.
          assert.strictEqual(yield* eventually(sessionsNamed(applicationName), (count) => count === 0), 0)
        }).pipe(Effect.scoped),
      { timeout: 90_000 }
    )

    it.live(
      "exits non-zero within database.startup.timeout when the server is unreachable, with one line on stderr",
      () =>
        Effect.gen(function* () {
          const dead = yield* deadUrl
          const result = yield* run(["serve"], { DATABASE_URL: dead.url, DATABASE_STARTUP_TIMEOUT: "2 seconds" })
          assert.isFalse(result.timedOut, describeRun(result))
          assert.notStrictEqual(result.code, 0, describeRun(result))
          assert.isAtLeast(result.elapsedMs, 2_000)
          assert.isBelow(result.elapsedMs, 2_000 + MARGIN_MS)
          const lines = nonEmptyLines(result.stderr)
          assert.strictEqual(lines.length, 1, describeRun(result))
          assert.match(
            lines[0]!,
            new RegExp(
              `^platform-kernel: cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${dead.port}, database "pk_nowhere": .*ECONNREFUSED`
            )
          )
          assertNoStackTrace(result)
          assert.notInclude(result.stdout + result.stderr, KNOWN_SECRET)
        }),
      { timeout: 30_000 }
    )

    it.live("a bad configuration value exits 1 with the one-line message", () =>
      Effect.gen(function* () {
        const result = yield* run(["serve"], { DATABASE_POOL_MAX_CONNECTIONS: "ten" })
        assert.strictEqual(result.code, 1, describeRun(result))
        assert.strictEqual(
          result.stderr.trim(),
          `platform-kernel: database.pool.maxConnections: expected a positive integer, got a string of 3 characters (from DATABASE_POOL_MAX_CONNECTIONS)`
        )
        assertNoStackTrace(result)
      })
    )

    it.live("--config selects the file, and its errors name it", () =>
      Effect.gen(function* () {
        const path = join(tempRoot, "bad.yaml")
        writeFileSync(
          path,
          readFileSync(bundledConfigFile(), "utf8").replace("maxConnections: 10", "maxConnections: ten")
        )
        for (const args of [
          ["status", "--config", path],
          ["--config", path, "health"],
          ["--config", path]
        ]) {
          const result = yield* run(args)
          assert.strictEqual(result.code, 1, describeRun(result))
          assert.strictEqual(
            result.stderr.trim(),
            `platform-kernel: database.pool.maxConnections: expected a positive integer, got a string of 3 characters (from ${path})`
          )
        }
      })
    )
  })

  describe("health", () => {
    it.live("prints the report as JSON and exits 0 when the database is up", () =>
      Effect.gen(function* () {
        const database = yield* scopedDatabase({ from: "template" })
        const result = yield* run(["health"], { DATABASE_URL: database.url })
        assert.strictEqual(result.code, 0, describeRun(result))
        const report = JSON.parse(result.stdout.trim())
        assert.strictEqual(report.status, "up")
        assert.deepStrictEqual(report.migrations, { latest: 6, pending: 0 })
        assert.isString(report.serverVersion)
      }).pipe(Effect.scoped)
    )

    it.live("prints status down and exits 1 when the database is unreachable", () =>
      Effect.gen(function* () {
        const dead = yield* deadUrl
        const result = yield* run(["health"], { DATABASE_URL: dead.url, DATABASE_HEALTH_TIMEOUT: "1 second" })
        assert.strictEqual(result.code, 1, describeRun(result))
        const report = JSON.parse(result.stdout.trim())
        assert.strictEqual(report.status, "down")
        assert.include(report.error, "ECONNREFUSED")
        assert.notInclude(result.stdout + result.stderr, KNOWN_SECRET)
      })
    )
  })

  describe("migrate", () => {
    it.live("applies the rbac.roles baseline once: a second run writes no audit record", () =>
      Effect.gen(function* () {
        const database = yield* scopedDatabase({ from: "empty" })
        const env = {
          DATABASE_URL: database.url,
          RBAC_ROLES: JSON.stringify([{ name: "operator", permissions: ["ops.jobs.run", "ops.jobs.read"] }])
        }
        const grantsAndAudit = withAdmin(database.url, (client) =>
          client<{ readonly grants: number; readonly audit: number }>`
            SELECT (SELECT count(*)::int FROM role_permissions rp JOIN roles r ON r.id = rp.role_id
                    WHERE r.name = 'operator') AS grants,
                   (SELECT count(*)::int FROM audit_logs) AS audit`.pipe(Effect.map((rows) => rows[0]!))
        ).pipe(Effect.orDie)
        const first = yield* run(["migrate"], env)
        assert.strictEqual(first.code, 0, describeRun(first))
        // role.created, two permission.created, two role.permission_granted.
        assert.deepStrictEqual(yield* grantsAndAudit, { grants: 2, audit: 5 })
        const second = yield* run(["migrate"], env)
        assert.strictEqual(second.code, 0, describeRun(second))
        assert.include(second.stdout, "nothing to migrate")
        assert.deepStrictEqual(yield* grantsAndAudit, { grants: 2, audit: 5 })
      }).pipe(Effect.scoped)
    )
  })

  describe("status", () => {
    /** A copy of the bundled migrations. */
    const migrationsCopy = () => {
      const directory = mkdtempSync(join(tempRoot, "migrations-"))
      for (const file of readdirSync(bundledMigrationsDirectory())) {
        copyFileSync(join(bundledMigrationsDirectory(), file), join(directory, file))
      }
      return directory
    }

    it.live("lists applied and pending migrations and exits 0 without drift", () =>
      Effect.gen(function* () {
        const database = yield* scopedDatabase({ from: "template" })
        const directory = migrationsCopy()
        writeFileSync(join(directory, "0007_next.sql"), "CREATE TABLE next_thing (id int);\n")
        const result = yield* run(["status"], { DATABASE_URL: database.url, DATABASE_MIGRATIONS_DIRECTORY: directory })
        assert.strictEqual(result.code, 0, describeRun(result))
        const lines = nonEmptyLines(result.stdout)
        assert.deepStrictEqual(
          lines.map((line) => line.replace(/\s+\(\d{4}-.*\)$/, "")),
          [
            `kernel migrations: history ${MIGRATIONS_TABLE}, folder ${directory}`,
            "  applied   1_extensions",
            "  applied   2_identity",
            "  applied   3_audit_logs",
            "  applied   4_audit_timestamp",
            "  applied   5_permission_version",
            "  applied   6_audit_partitions",
            "  pending   0007_next.sql"
          ]
        )
      }).pipe(Effect.scoped)
    )

    it.live("marks drift and exits 1, as text and as JSON", () =>
      Effect.gen(function* () {
        const database = yield* scopedDatabase({ from: "template" })
        const directory = migrationsCopy()
        appendFileSync(join(directory, "0002_identity.sql"), "\n-- edited after it was applied\n")
        const env = { DATABASE_URL: database.url, DATABASE_MIGRATIONS_DIRECTORY: directory }

        const text = yield* run(["status"], env)
        assert.strictEqual(text.code, 1, describeRun(text))
        const driftLines = nonEmptyLines(text.stdout).filter((line) => line.trim().startsWith("DRIFT"))
        assert.strictEqual(driftLines.length, 1, describeRun(text))
        assert.match(driftLines[0]!, /^ {2}DRIFT\s+changed: 0002_identity\.sql has changed since it was applied/)

        const json = yield* run(["status", "--json"], env)
        assert.strictEqual(json.code, 1, describeRun(json))
        const { kernel: status, service } = JSON.parse(json.stdout)
        assert.isNull(service)
        assert.deepStrictEqual(
          status.drift.map((drift: { kind: string; id: number }) => [drift.kind, drift.id]),
          [["changed", 2]]
        )
        assert.strictEqual(status.latest, 6)
        assert.deepStrictEqual(status.pending, [])
      }).pipe(Effect.scoped)
    )
  })

  describe("audit", () => {
    it.live(
      "partitions lists them and counts the default one; retain makes them; verify-archive refuses a damaged archive",
      () =>
        Effect.gen(function* () {
          const database = yield* scopedDatabase({ from: "template" })
          const archive = mkdtempSync(join(tempRoot, "archive-"))
          const env = {
            DATABASE_URL: database.url,
            AUDIT_PARTITIONS_PERIOD: "week",
            AUDIT_PARTITIONS_AHEAD: "2",
            AUDIT_ARCHIVE_DIRECTORY: archive
          }
          // A row of 2020 in the legacy partition, and one far outside every partition (the default's).
          yield* withAdmin(database.url, (sql) =>
            sql.withTransaction(
              Effect.andThen(
                sql`SET LOCAL session_replication_role = replica`,
                sql`INSERT INTO audit_logs (id, action, "timestamp") VALUES
                    (gen_random_uuid(), 'test.old', '2020-01-01T00:00:00Z'),
                    (gen_random_uuid(), 'test.far', '2999-01-01T00:00:00Z')`
              )
            )
          ).pipe(Effect.orDie)
          const listed = yield* run(["audit", "partitions", "--json", "--exact"], env)
          assert.strictEqual(listed.code, 1, describeRun(listed))
          const report = JSON.parse(listed.stdout) as {
            partitions: ReadonlyArray<{ partition: string; rows: number; rowsAre: string; archive: string }>
            defaultRows: number
          }
          assert.strictEqual(report.defaultRows, 1)
          assert.deepStrictEqual(
            report.partitions.map((p) => [p.partition, p.rows, p.rowsAre, p.archive]),
            [
              ["audit_logs_legacy", 1, "exact", "none"],
              ["audit_logs_default", 1, "exact", "none"]
            ]
          )
          // Retention of one day dropping nothing yet: the legacy partition ends tomorrow. Partitions are made.
          const retained = yield* run(["audit", "retain", "--json"], { ...env, AUDIT_RETENTION: "1 day" })
          assert.strictEqual(retained.code, 0, describeRun(retained))
          const summary = JSON.parse(retained.stdout) as {
            created: ReadonlyArray<string>
            dropped: ReadonlyArray<unknown>
          }
          assert.isAtLeast(summary.created.length, 2)
          assert.deepStrictEqual(summary.dropped, [])
          const text = yield* run(["audit", "partitions"], env)
          assert.match(text.stdout, /^partition\s+from\s+to\s+rows\s+size\s+archive$/m)
          assert.match(text.stdout, /^audit_logs_legacy\s+MINVALUE\s+\S+\s+/m)
          assert.include(text.stdout, "WARNING: audit_logs_default holds 1 row(s)")
          // An archive made by the library, then damaged.
          const file = join(archive, "audit_logs_legacy.csv")
          writeFileSync(file, "id,actor_id,action,target_id,metadata,timestamp\n")
          writeFileSync(`${file}.sha256`, `${"0".repeat(64)}  audit_logs_legacy.csv\n`)
          const damaged = yield* run(["audit", "verify-archive", file], env)
          assert.strictEqual(damaged.code, 1, describeRun(damaged))
          assert.match(
            damaged.stderr,
            /audit archive .*audit_logs_legacy\.csv: its sha256 is [0-9a-f]{64}, the checksum file says 0{64}: the archive is damaged/
          )
        }).pipe(Effect.scoped)
    )
  })

  describe("secrets never reach the output", () => {
    it.live(
      "status, health, migrate and serve against an unreachable server with the password in the URL",
      () =>
        Effect.gen(function* () {
          const dead = yield* deadUrl
          const base = {
            DATABASE_STARTUP_TIMEOUT: "1 second",
            DATABASE_HEALTH_TIMEOUT: "1 second",
            DATABASE_PASSWORD: KNOWN_SECRET,
            LOG_LEVEL: "debug"
          }
          const runs: ReadonlyArray<readonly [ReadonlyArray<string>, Record<string, string>]> = [
            [["status"], { ...base, DATABASE_URL: dead.url }],
            [["health"], { ...base, DATABASE_URL: dead.url, LOG_FORMAT: "json" }],
            [["migrate"], { ...base, DATABASE_URL: dead.url, LOG_FORMAT: "json" }],
            [["serve"], { ...base, DATABASE_URL: dead.url }],
            // Host, port and password given apart instead of a URL.
            [["serve"], { ...base, DATABASE_HOST: "127.0.0.1", DATABASE_PORT: String(dead.port) }]
          ]
          const results = yield* Effect.forEach(runs, ([args, env]) => run(args, env), { concurrency: 2 })
          for (const result of results) {
            assert.isFalse(result.timedOut, describeRun(result))
            assert.strictEqual(result.code, 1, describeRun(result))
            assert.notInclude(result.stdout, KNOWN_SECRET)
            assert.notInclude(result.stderr, KNOWN_SECRET)
            assertNoStackTrace(result)
          }
          // The failure still says where it tried to connect.
          assert.include(results[4]!.stderr, `127.0.0.1:${dead.port}`)
        }),
      { timeout: 60_000 }
    )

    it.live("one-shot commands against the test server with the known password in the URL", () =>
      Effect.gen(function* () {
        const database = yield* scopedDatabase({ from: "template" })
        // The service trusts any password; the embedded server refuses this one. Either way it must not show.
        const url = new URL(database.url)
        url.password = KNOWN_SECRET
        for (const args of [["health"], ["status", "--json"], ["migrate"]]) {
          const result = yield* run(args, {
            DATABASE_URL: url.toString(),
            DATABASE_PASSWORD: KNOWN_SECRET,
            DATABASE_STARTUP_TIMEOUT: "5 seconds",
            LOG_LEVEL: "debug",
            LOG_FORMAT: "json"
          })
          assert.isFalse(result.timedOut, describeRun(result))
          assert.notInclude(result.stdout, KNOWN_SECRET, args.join(" "))
          assert.notInclude(result.stderr, KNOWN_SECRET, args.join(" "))
          assertNoStackTrace(result)
        }
      }).pipe(Effect.scoped)
    )
  })
})
