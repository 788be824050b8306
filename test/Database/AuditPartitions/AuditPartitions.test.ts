/**
 * The partitioned audit_logs on a real server: the conversion of an existing table (0006), partitions made
 * ahead (also by instances racing), the default partition, retention with its archive, and the archive read
 * back. Rows of other times than now are written as the superuser with session_replication_role = replica,
 * which switches the stamping trigger off (no role the README grants can do that).
 */
import { execFileSync } from "node:child_process"
import { randomUUID } from "node:crypto"
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem, NodePath } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, type FileSystem, Layer, Logger, type Path, References } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll } from "vitest"
import { AppConfig, bundledMigrationsDirectory } from "../../../src/Config/AppConfig.ts"
import type { ArchivedAuditRow } from "../../../src/Database/AuditPartitions/AuditArchive.ts"
import {
  AuditArchiveError,
  checksumFileOf,
  openArchive,
  readAuditArchive,
  verifyAuditArchive
} from "../../../src/Database/AuditPartitions/AuditArchive.ts"
import * as AuditMaintenance from "../../../src/Database/AuditPartitions/AuditMaintenance.ts"
import {
  archiveFileOf,
  dropExpiredAuditPartitions,
  ensureAuditPartitions,
  listAuditPartitions,
  readPartitionRows
} from "../../../src/Database/AuditPartitions/AuditPartitions.ts"
import * as Database from "../../../src/Database/Database.ts"
import { applyMigrations } from "../../../src/Database/Migrations/DatabaseMigrations.ts"
import { eventually } from "../../support/Eventually.ts"
import { expectError } from "../../support/Expect.ts"
import { sessionsNamed } from "../../support/Sessions.ts"
import { adminUrl, scopedDatabase, testConfig } from "../../support/TestDatabase.ts"
import { databaseUrl, MIGRATIONS_TABLE } from "../../support/urls.ts"

const FileServices = Layer.merge(NodeFileSystem.layer, NodePath.layer)
const tempRoot = mkdtempSync(join(tmpdir(), "pk-audit-partitions-"))
afterAll(() => rmSync(tempRoot, { recursive: true, force: true }))

const BUNDLED = bundledMigrationsDirectory()
const migrationsUpTo = (last: number): string => {
  const directory = mkdtempSync(join(tempRoot, "migrations-"))
  for (const file of readdirSync(BUNDLED)) {
    if (file.endsWith(".sql") && Number(file.split("_")[0]) <= last)
      copyFileSync(join(BUNDLED, file), join(directory, file))
  }
  return directory
}

/** A database of its own (empty, or the migrated template), its client, and the file services. */
const OwnDatabase = (from: "empty" | "template") =>
  Layer.unwrap(
    Effect.gen(function* () {
      const database = yield* scopedDatabase({ from })
      const config = yield* testConfig({ DATABASE_URL: database.url })
      return Layer.merge(Database.layerConnection.pipe(Layer.provide(AppConfig.layerFrom(config))), FileServices)
    })
  )

const onDatabase =
  (from: "empty" | "template") =>
  <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient | FileSystem.FileSystem | Path.Path>) =>
    effect.pipe(Effect.provide(OwnDatabase(from)), Effect.provideService(References.MinimumLogLevel, "Warn"))

/** Inserts audit rows at the given times, the stamping trigger off (superuser only). */
const insertAt = (timestamps: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        yield* sql.unsafe("SET LOCAL session_replication_role = replica")
        const rows: Array<{ readonly id: string; readonly partition: string }> = []
        for (const [index, at] of timestamps.entries()) {
          const [row] = yield* sql<{ readonly id: string; readonly partition: string }>`
            INSERT INTO audit_logs (id, actor_id, action, target_id, metadata, "timestamp")
            VALUES (${randomUUID()}::uuid, ${index % 2 === 0 ? randomUUID() : null}::uuid, 'iam.user.created',
              ${index % 3 === 0 ? null : `doc "${index}",\nline`}, ${JSON.stringify({ n: index, s: 'a "q", b' })}::jsonb,
              ${at}::timestamptz)
            RETURNING id::text AS id, tableoid::regclass::text AS partition`.withoutTransform
          rows.push(row!)
        }
        return rows
      })
    )
  })

/** Every row of audit_logs, as archived text, in (timestamp, id) order. */
const allRowsOf = (table: string) =>
  Effect.gen(function* () {
    const rows: Array<ArchivedAuditRow> = []
    yield* readPartitionRows(table, (batch) => Effect.sync(() => rows.push(...batch)))
    return rows
  })

const DAY = 86_400_000

const psql = ["/usr/bin/psql", "/usr/local/bin/psql"].find((path) => existsSync(path))

/** The URL of the database the test runs on (the server's own address, this database's name). */
const currentUrl = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ readonly name: string }>`SELECT current_database() AS name`.withoutTransform
  return databaseUrl(adminUrl(), row!.name)
})

describe("audit_logs partitions", () => {
  it.effect(
    "0006 converts a table with rows: every row and id kept, the table and its indexes not rewritten",
    () =>
      onDatabase("empty")(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* applyMigrations({ directory: migrationsUpTo(5), table: MIGRATIONS_TABLE })
          yield* insertAt(["2019-03-01T10:00:00.123456Z", "2024-12-31T23:59:59.999999Z", "2026-01-15T00:00:00Z"])
          yield* sql`INSERT INTO audit_logs (id, action) VALUES (${randomUUID()}::uuid, 'iam.user.deleted')`
          const before = yield* allRowsOf("audit_logs")
          const files = () =>
            sql<{ readonly name: string; readonly node: number }>`
              SELECT c.relname::text AS name, pg_relation_filenode(c.oid)::bigint::float8 AS node FROM pg_class c
              WHERE c.relname LIKE 'audit_logs%' AND c.relkind IN ('r', 'i') ORDER BY pg_relation_filenode(c.oid)`
              .withoutTransform
          const nodesBefore = (yield* files()).map((row) => row.node)
          yield* applyMigrations({ directory: BUNDLED, table: MIGRATIONS_TABLE })
          assert.deepStrictEqual(yield* allRowsOf("audit_logs"), before)
          assert.deepStrictEqual(yield* allRowsOf("audit_logs_legacy"), before)
          // The same files: renamed and attached, never copied (the old table's five, plus the default's).
          const after = yield* files()
          assert.deepStrictEqual(
            after.filter((row) => row.name.startsWith("audit_logs_legacy")).map((row) => row.node),
            nodesBefore
          )
          const partitions = yield* listAuditPartitions()
          assert.deepStrictEqual(
            partitions.map((p) => [p.name, p.isDefault, p.from]),
            [
              ["audit_logs_legacy", false, undefined],
              ["audit_logs_default", true, undefined]
            ]
          )
          // The legacy range ends at the start of the next UTC day.
          const [bound] = yield* sql<{ readonly bound: Date }>`
            SELECT date_trunc('day', now(), 'UTC') + interval '1 day' AS bound`.withoutTransform
          assert.strictEqual(partitions[0]!.to?.getTime(), bound!.bound.getTime())
        })
      ),
    60_000
  )

  it.effect("0006 takes the bound of a CHECK proven beforehand instead of scanning; an unproven one is replaced", () =>
    onDatabase("empty")(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* applyMigrations({ directory: migrationsUpTo(5), table: MIGRATIONS_TABLE })
        yield* insertAt(["2020-01-01T00:00:00Z"])
        // What README "Audit partitions" tells the operator of a large table to run first (appends go on).
        yield* sql.unsafe(
          `ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_legacy_bound CHECK ("timestamp" < '2999-03-01T00:00:00Z') NOT VALID`
        )
        yield* sql.unsafe("ALTER TABLE audit_logs VALIDATE CONSTRAINT audit_logs_legacy_bound")
        yield* applyMigrations({ directory: BUNDLED, table: MIGRATIONS_TABLE })
        const [legacy] = yield* listAuditPartitions()
        assert.strictEqual(legacy!.to?.toISOString(), "2999-03-01T00:00:00.000Z")
      })
    )
  )

  it.effect("0006 replaces a CHECK of that name left unvalidated", () =>
    onDatabase("empty")(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* applyMigrations({ directory: migrationsUpTo(5), table: MIGRATIONS_TABLE })
        yield* sql.unsafe(
          `ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_legacy_bound CHECK ("timestamp" < '2999-03-01T00:00:00Z') NOT VALID`
        )
        yield* applyMigrations({ directory: BUNDLED, table: MIGRATIONS_TABLE })
        const [legacy] = yield* listAuditPartitions()
        const [bound] = yield* sql<{ readonly bound: Date }>`
          SELECT date_trunc('day', now(), 'UTC') + interval '1 day' AS bound`.withoutTransform
        assert.strictEqual(legacy!.to?.getTime(), bound!.bound.getTime())
      })
    )
  )

  it.effect("0006 keeps what was granted on the old table", () =>
    onDatabase("empty")(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const role = `pk_audit_reader_${randomUUID().slice(0, 8)}`
        yield* sql.unsafe(`CREATE ROLE ${role}`)
        const granted = Effect.gen(function* () {
          yield* applyMigrations({ directory: migrationsUpTo(5), table: MIGRATIONS_TABLE })
          yield* sql.unsafe(`GRANT SELECT, INSERT ON audit_logs TO ${role}`)
          yield* applyMigrations({ directory: BUNDLED, table: MIGRATIONS_TABLE })
          const [row] = yield* sql<{ readonly select: boolean; readonly insert: boolean; readonly delete: boolean }>`
            SELECT has_table_privilege(${role}, 'audit_logs', 'SELECT') AS select,
              has_table_privilege(${role}, 'audit_logs', 'INSERT') AS insert,
              has_table_privilege(${role}, 'audit_logs', 'DELETE') AS delete`.withoutTransform
          return row!
        })
        const row = yield* granted.pipe(
          Effect.ensuring(
            Effect.ignore(Effect.andThen(sql.unsafe(`DROP OWNED BY ${role}`), sql.unsafe(`DROP ROLE ${role}`)))
          )
        )
        assert.deepStrictEqual({ ...row }, { select: true, insert: true, delete: false })
      })
    )
  )

  it.effect("partitions are made ahead, rows land in their period's, and the default one is reported", () =>
    onDatabase("template")(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const now = new Date()
        const first = yield* ensureAuditPartitions({ period: "day", ahead: 3, now })
        const legacyEnd = (yield* listAuditPartitions())[0]!.to!
        // From the legacy bound (tomorrow, UTC) to the end of the third day after today.
        assert.strictEqual(first.created.length, 3)
        assert.deepStrictEqual(first.blocked, [])
        assert.strictEqual(first.defaultRows, 0)
        // Done already: nothing more.
        assert.deepStrictEqual((yield* ensureAuditPartitions({ period: "day", ahead: 3, now })).created, [])
        const landed = yield* insertAt([
          new Date(legacyEnd.getTime() - 1).toISOString(),
          legacyEnd.toISOString(),
          new Date(legacyEnd.getTime() + DAY + 1).toISOString(),
          "2999-01-01T00:00:00Z"
        ])
        assert.deepStrictEqual(
          landed.map((row) => row.partition),
          ["audit_logs_legacy", first.created[0], first.created[1], "audit_logs_default"]
        )
        // A period-aligned month after the days already made, short first slot included.
        const monthly = yield* ensureAuditPartitions({ period: "month", ahead: 1, now })
        assert.isTrue(monthly.created.length >= 1)
        assert.strictEqual(monthly.defaultRows, 1)
        // A slot holding the default's row is not made, and said so; the next one is.
        const far = yield* ensureAuditPartitions({
          period: "month",
          ahead: 2,
          now: new Date("2998-12-15T00:00:00Z")
        })
        assert.deepStrictEqual(
          far.blocked.map((slot) => [slot.from.toISOString(), slot.defaultRows]),
          [["2999-01-01T00:00:00.000Z", 1]]
        )
        assert.deepStrictEqual(far.created, ["audit_logs_p29981201", "audit_logs_p29990201"])
        // Each made partition refuses TRUNCATE on its own, and the parent's row triggers reach it.
        const name = first.created[0]!
        for (const statement of [`TRUNCATE ${name}`, `DELETE FROM ${name}`, "TRUNCATE audit_logs_default"]) {
          const error = yield* Effect.flip(sql.unsafe(statement))
          assert.include((error.reason.cause as Error).message, "append-only", statement)
        }
      })
    )
  )

  it.effect("instances making partitions at once take turns: no error, each partition made once", () =>
    Effect.gen(function* () {
      const database = yield* scopedDatabase({ from: "template" })
      const config = yield* testConfig({ DATABASE_URL: database.url })
      const instance = Effect.scoped(
        ensureAuditPartitions({ period: "day", ahead: 6, now: new Date() }).pipe(
          Effect.provide(Database.layerConnection.pipe(Layer.provide(AppConfig.layerFrom(config))))
        )
      )
      const results = yield* Effect.all([instance, instance, instance, instance], { concurrency: "unbounded" })
      const created = results.flatMap((result) => result.created)
      assert.strictEqual(created.length, new Set(created).size)
      assert.strictEqual(created.length, 6)
    }).pipe(Effect.provideService(References.MinimumLogLevel, "Warn"))
  )

  it.live("serve's schedule: two instances keep the partitions made ahead, without a failure", () =>
    Effect.gen(function* () {
      const applicationName = `pk-upkeep-${randomUUID().slice(0, 8)}`
      const database = yield* scopedDatabase({ from: "template" })
      const config = yield* testConfig({
        DATABASE_URL: database.url,
        AUDIT_PARTITIONS_PERIOD: "day",
        AUDIT_PARTITIONS_AHEAD: "4",
        AUDIT_PARTITIONS_CHECK_INTERVAL: "100 millis",
        // The owner's connection of each run (database.migrations.url), opened and closed by the run.
        DATABASE_MIGRATIONS_URL: database.url,
        DATABASE_APPLICATION_NAME: applicationName
      })
      const messages: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => {
        if (logLevel === "Warn" || logLevel === "Error") messages.push([message].flat().map(String).join(" "))
      })
      const instance = AuditMaintenance.layerSchedule.pipe(
        Layer.provideMerge(Database.layerConnection),
        Layer.provide(AppConfig.layerFrom(config))
      )
      const partitions = yield* Effect.scoped(
        Effect.gen(function* () {
          yield* Layer.build(Layer.merge(instance, Layer.fresh(instance)))
          // Each instance runs at once and then every 100 ms: a few rounds each, racing.
          yield* Effect.sleep("1 second")
          return yield* listAuditPartitions().pipe(
            Effect.provide(Database.layerConnection.pipe(Layer.provide(AppConfig.layerFrom(config))))
          )
        })
      ).pipe(Effect.provide(Logger.layer([capture])))
      assert.deepStrictEqual(messages, [])
      // The schedules stopped with their scope, and left no session behind (theirs, nor the owner's).
      assert.strictEqual(yield* eventually(sessionsNamed(applicationName), (count) => count === 0), 0)
      // The legacy partition ends tomorrow; then one a day to the end of the fourth day after today.
      assert.strictEqual(partitions.filter((p) => /^audit_logs_p\d{8}$/.test(p.name)).length, 4)
    })
  )

  it.effect(
    "retention drops only whole expired partitions, archived first; the archive reads back equal",
    () =>
      onDatabase("template")(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const now = new Date()
          const made = yield* ensureAuditPartitions({ period: "day", ahead: 2, now })
          const legacyEnd = (yield* listAuditPartitions())[0]!.to!
          yield* insertAt(["2020-02-02T02:02:02.020202Z", "2021-01-01T00:00:00Z", legacyEnd.toISOString()])
          const legacyRows = yield* allRowsOf("audit_logs_legacy")
          const firstDayRows = yield* allRowsOf(made.created[0]!)
          const directory = join(tempRoot, `archive-${randomUUID()}`)
          const retention = Duration.days(400)
          // One millisecond short of the legacy range's expiry: nothing goes.
          const early = new Date(legacyEnd.getTime() + Duration.toMillis(retention) - 1)
          assert.deepStrictEqual(
            yield* dropExpiredAuditPartitions({ retention, archiveDirectory: directory, now: early }),
            []
          )
          const dropped = yield* dropExpiredAuditPartitions({
            retention,
            archiveDirectory: directory,
            now: new Date(early.getTime() + 1)
          })
          assert.deepStrictEqual(
            dropped.map((p) => [p.name, p.rows]),
            [["audit_logs_legacy", legacyRows.length]]
          )
          const names = (yield* listAuditPartitions()).map((p) => p.name)
          assert.notInclude(names, "audit_logs_legacy")
          assert.include(names, made.created[0])
          assert.include(names, "audit_logs_default")
          assert.deepStrictEqual(yield* allRowsOf(made.created[0]!), firstDayRows)
          // Read back: the same rows, the checksum recorded beside it.
          const file = archiveFileOf(directory, "audit_logs_legacy")
          const back = yield* readAuditArchive(file)
          assert.deepStrictEqual(back.rows, legacyRows)
          assert.strictEqual(back.count, legacyRows.length)
          assert.strictEqual(back.sha256, dropped[0]!.archive!.sha256)
          assert.match(readFileSync(checksumFileOf(file), "utf8"), /^[0-9a-f]{64} {2}audit_logs_legacy\.csv\n$/)
          assert.deepStrictEqual(readdirSync(directory).toSorted(), [
            "audit_logs_legacy.csv",
            "audit_logs_legacy.csv.sha256"
          ])
          // psql's \copy reads it back into the same rows (when psql is installed; the library's reader above
          // does not need it).
          if (psql === undefined) {
            yield* Effect.logWarning("psql not found: the \\copy read-back is skipped")
          } else {
            yield* sql.unsafe("CREATE TABLE restored_audit (LIKE audit_logs)")
            execFileSync(psql, [
              yield* currentUrl,
              "-v",
              "ON_ERROR_STOP=1",
              "-c",
              `\\copy restored_audit FROM '${file}' (FORMAT csv, HEADER)`
            ])
            assert.deepStrictEqual(yield* allRowsOf("restored_audit"), legacyRows)
          }
          // Without an archive directory: dropped all the same, nothing written.
          const later = new Date(legacyEnd.getTime() + DAY + Duration.toMillis(retention))
          const plain = yield* dropExpiredAuditPartitions({ retention, archiveDirectory: undefined, now: later })
          assert.deepStrictEqual(
            plain.map((p) => [p.name, p.rowsAre, p.archive]),
            [[made.created[0], "estimate", undefined]]
          )
          assert.notInclude(
            (yield* listAuditPartitions()).map((p) => p.name),
            made.created[0]
          )
        })
      ),
    60_000
  )

  it.effect("a damaged archive, or one without its checksum, is refused", () =>
    onDatabase("template")(
      Effect.gen(function* () {
        yield* insertAt(["2020-02-02T02:02:02Z", "2020-02-03T02:02:02Z"])
        const directory = join(tempRoot, `archive-${randomUUID()}`)
        const [dropped] = yield* dropExpiredAuditPartitions({
          retention: Duration.days(1),
          archiveDirectory: directory,
          now: new Date(Date.now() + 3 * DAY)
        })
        const file = dropped!.archive!.file
        assert.strictEqual((yield* verifyAuditArchive(file)).rows, dropped!.rows)
        const good = readFileSync(file, "utf8")
        writeFileSync(file, good.replace("iam.user.created", "iam.user.deleted"))
        const damaged = yield* expectError(verifyAuditArchive(file), AuditArchiveError)
        assert.strictEqual(damaged.reason, "ChecksumMismatch")
        assert.include(damaged.message, file)
        writeFileSync(file, good)
        rmSync(checksumFileOf(file))
        assert.strictEqual((yield* expectError(readAuditArchive(file), AuditArchiveError)).reason, "ChecksumMissing")
        assert.isFalse(existsSync(join(directory, ".audit_logs_legacy.csv.tmp")))
      })
    )
  )
})

describe("an archive being written", () => {
  const row: ArchivedAuditRow = {
    id: randomUUID(),
    actorId: null,
    action: "iam.user.created",
    targetId: "doc-1",
    metadata: "{}",
    timestamp: "2020-02-02 02:02:02+00"
  }

  it.effect("that fails before it is committed leaves neither its file nor its temporary file", () =>
    Effect.gen(function* () {
      const directory = join(tempRoot, `failed-${randomUUID()}`)
      const file = join(directory, "audit_logs_p20200202.csv")
      const temporary = join(directory, ".audit_logs_p20200202.csv.tmp")
      const failed = yield* Effect.scoped(
        Effect.gen(function* () {
          const writer = yield* openArchive(file)
          yield* writer.write([row])
          assert.isTrue(existsSync(temporary), "written through its temporary file")
          return yield* Effect.fail("the partition could not be read to its end" as const)
        })
      ).pipe(Effect.flip)
      assert.strictEqual(failed, "the partition could not be read to its end")
      assert.isFalse(existsSync(temporary))
      assert.isFalse(existsSync(file))
      assert.isFalse(existsSync(checksumFileOf(file)))
      // Committed, the same steps leave the archive and its checksum, and no temporary file.
      const summary = yield* Effect.scoped(
        Effect.gen(function* () {
          const writer = yield* openArchive(file)
          yield* writer.write([row])
          return yield* writer.commit
        })
      )
      assert.strictEqual(summary.rows, 1)
      assert.isTrue(existsSync(file))
      assert.isFalse(existsSync(temporary))
      assert.strictEqual((yield* verifyAuditArchive(file)).rows, 1)
    })
  )
})
