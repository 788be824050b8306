/**
 * `migrate` and `status` with a service's own migrations (`DATABASE_MIGRATIONS_SERVICE_*`), run as the
 * `platform-kernel` binary would be, against a database of their own.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { afterAll } from "vitest"
import { bundledMigrationsDirectory } from "../../src/Config/AppConfig.ts"
import { withAdmin } from "../support/adminClient.ts"
import { scopedDatabase } from "../support/TestDatabase.ts"
import { MIGRATIONS_TABLE } from "../support/urls.ts"
import { type CliResult, jsonLines, runCli } from "./runCli.ts"

const tempRoot = mkdtempSync(join(tmpdir(), "pk-service-cli-test-"))
afterAll(() => rmSync(tempRoot, { recursive: true, force: true }))

const serviceFolder = (): string => {
  const directory = mkdtempSync(join(tempRoot, "service-"))
  writeFileSync(
    join(directory, "0001_sessions.sql"),
    "CREATE TABLE sessions (id uuid PRIMARY KEY, user_id uuid NOT NULL REFERENCES users (id));\n"
  )
  writeFileSync(join(directory, "0002_session_expiry.sql"), "ALTER TABLE sessions ADD COLUMN expires_at timestamptz;\n")
  return directory
}

const serviceEnv = (url: string, directory: string) => ({
  DATABASE_URL: url,
  DATABASE_MIGRATIONS_TABLE: MIGRATIONS_TABLE,
  DATABASE_MIGRATIONS_SERVICE_DIRECTORY: directory,
  DATABASE_MIGRATIONS_SERVICE_TABLE: "auth_migrations",
  DATABASE_MIGRATIONS_SERVICE_SCHEMA: "auth",
  LOG_FORMAT: "json"
})

const run = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.promise(() => runCli(args, { env, timeoutMs: 45_000 }))

const describeRun = (result: CliResult) =>
  `exit ${result.code} (timed out ${result.timedOut})\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`

/** The `migration applied` log lines, as `table:id`. */
const appliedLines = (result: CliResult) =>
  jsonLines(result.stdout)
    .filter((line) => line.message === "migration applied")
    .map((line) => {
      const annotations = line.annotations as { migrations_table?: string; migration_id?: string }
      return `${annotations.migrations_table}:${annotations.migration_id}`
    })

const historyIds = (url: string, table: string) =>
  withAdmin(url, (sql) =>
    sql<{
      readonly id: number
    }>`SELECT migration_id AS id FROM ${sql(table)} WHERE sha256 IS NOT NULL ORDER BY migration_id`.withoutTransform.pipe(
      Effect.map((rows) => rows.map((row) => row.id))
    )
  ).pipe(Effect.orDie)

describe("the CLI with a service's own migrations", () => {
  it.live(
    "migrate applies the kernel's, then the service's in its schema; status lists both histories, labelled",
    () =>
      Effect.gen(function* () {
        const { url } = yield* scopedDatabase({ from: "empty" })
        const directory = serviceFolder()
        const env = serviceEnv(url, directory)

        const migrate = yield* run(["migrate"], env)
        assert.strictEqual(migrate.code, 0, describeRun(migrate))
        // Before service migrations existed, DATABASE_MIGRATIONS_SERVICE_* was ignored: no such history.
        assert.deepStrictEqual(yield* historyIds(url, "auth.auth_migrations"), [1, 2])
        assert.deepStrictEqual(appliedLines(migrate), [
          `${MIGRATIONS_TABLE}:1`,
          `${MIGRATIONS_TABLE}:2`,
          `${MIGRATIONS_TABLE}:3`,
          `${MIGRATIONS_TABLE}:4`,
          `${MIGRATIONS_TABLE}:5`,
          `${MIGRATIONS_TABLE}:6`,
          "auth.auth_migrations:1",
          "auth.auth_migrations:2"
        ])
        const again = yield* run(["migrate"], env)
        assert.strictEqual(again.code, 0, describeRun(again))
        assert.deepStrictEqual(appliedLines(again), [])
        assert.isTrue(jsonLines(again.stdout).some((line) => line.message === "nothing to migrate"))

        writeFileSync(join(directory, "0003_session_device.sql"), "ALTER TABLE sessions ADD COLUMN device text;\n")
        const status = yield* run(["status"], env)
        assert.strictEqual(status.code, 0, describeRun(status))
        assert.deepStrictEqual(
          status.stdout
            .split("\n")
            .filter((line) => line.trim() !== "")
            .map((line) => line.replace(/\s+\(\d{4}-.*\)$/, "")),
          [
            `kernel migrations: history ${MIGRATIONS_TABLE}, folder ${bundledMigrationsDirectory()}`,
            "  applied   1_extensions",
            "  applied   2_identity",
            "  applied   3_audit_logs",
            "  applied   4_audit_timestamp",
            "  applied   5_permission_version",
            "  applied   6_audit_partitions",
            `service migrations: history auth.auth_migrations, folder ${directory}`,
            "  applied   1_sessions",
            "  applied   2_session_expiry",
            "  pending   0003_session_device.sql"
          ]
        )

        appendFileSync(join(directory, "0001_sessions.sql"), "\n-- edited after it was applied\n")
        const drift = yield* run(["status", "--json"], env)
        assert.strictEqual(drift.code, 1, describeRun(drift))
        const histories = JSON.parse(drift.stdout)
        assert.deepStrictEqual(
          { table: histories.kernel.table, schema: histories.kernel.schema, drift: histories.kernel.drift },
          { table: MIGRATIONS_TABLE, schema: null, drift: [] }
        )
        assert.deepStrictEqual(
          {
            table: histories.service.table,
            schema: histories.service.schema,
            directory: histories.service.directory,
            latest: histories.service.latest,
            pending: histories.service.pending.map((file: { fileName: string }) => file.fileName),
            drift: histories.service.drift.map((d: { kind: string; id: number }) => [d.kind, d.id])
          },
          {
            table: "auth_migrations",
            schema: "auth",
            directory,
            latest: 2,
            pending: ["0003_session_device.sql"],
            drift: [["changed", 1]]
          }
        )
        // migrate refuses the drift, naming the file; the pending file stays pending.
        const refused = yield* run(["migrate"], env)
        assert.strictEqual(refused.code, 1, describeRun(refused))
        assert.include(refused.stderr, "refusing to migrate (history auth.auth_migrations")
        assert.include(refused.stderr, "0001_sessions.sql has changed since it was applied")
        assert.deepStrictEqual(yield* historyIds(url, "auth.auth_migrations"), [1, 2])
      }).pipe(Effect.scoped),
    { timeout: 90_000 }
  )

  it.live(
    "two processes migrating one empty database with the same service migrations apply each migration once",
    () =>
      Effect.gen(function* () {
        const { url } = yield* scopedDatabase({ from: "empty" })
        const env = serviceEnv(url, serviceFolder())
        const results = yield* Effect.all([run(["migrate"], env), run(["migrate"], env)], { concurrency: 2 })
        for (const result of results) assert.strictEqual(result.code, 0, describeRun(result))
        assert.deepStrictEqual(results.flatMap(appliedLines).toSorted(), [
          "auth.auth_migrations:1",
          "auth.auth_migrations:2",
          `${MIGRATIONS_TABLE}:1`,
          `${MIGRATIONS_TABLE}:2`,
          `${MIGRATIONS_TABLE}:3`,
          `${MIGRATIONS_TABLE}:4`,
          `${MIGRATIONS_TABLE}:5`,
          `${MIGRATIONS_TABLE}:6`
        ])
        assert.deepStrictEqual(yield* historyIds(url, MIGRATIONS_TABLE), [1, 2, 3, 4, 5, 6])
        assert.deepStrictEqual(yield* historyIds(url, "auth.auth_migrations"), [1, 2])
      }).pipe(Effect.scoped),
    { timeout: 90_000 }
  )
})
