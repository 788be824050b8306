/**
 * The audit log at scale (issue 20): the same statements against a partitioned audit_logs (monthly
 * partitions, as `platform-kernel` makes them) and against the unpartitioned table of migrations 0001-0005,
 * each seeded with AUDIT_SCALE_ROWS rows spread over the last 12 months; then retention: one month dropped
 * with and without an archive, against a DELETE of the same month with the append-only trigger disabled.
 *
 *   npm run bench:audit-scale                     10,000,000 rows, 10 s a cell (a long run: seeding alone
 *                                                 takes many minutes on a small machine)
 *   AUDIT_SCALE_ROWS=200000 AUDIT_SCALE_SECONDS=1 npm run bench:audit-scale    a quick proof that it runs
 *
 * Where: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else an embedded server (see Server.ts); a scratch
 * database per layout, dropped afterwards. Figures go to stdout as a markdown table, then as JSON.
 * Not part of `npm run bench` nor of CI: run it on a quiet machine.
 */
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PgClient } from "@effect/sql-pg"
import { DateTime, Duration, Effect, Option, Redacted } from "effect"
import type { SqlClient, SqlError } from "effect/sql"
import { bundledMigrationsDirectory } from "../src/Config/AppConfig.ts"
import {
  dropExpiredAuditPartitions,
  ensureAuditPartitions,
  listAuditPartitions
} from "../src/Database/AuditPartitions/AuditPartitions.ts"
import { nextBoundary } from "../src/Database/AuditPartitions/PartitionPeriod.ts"
import { UserId } from "../src/index.ts"
import { makeLibrary } from "./Contenders/Library.ts"
import { effectLoop } from "./Measure.ts"
import { userIdOf, userIdSql } from "./Seed.ts"
import { runStatement, withBenchDatabase } from "./Server.ts"

const rows = Number(process.env.AUDIT_SCALE_ROWS ?? 10_000_000)
const seconds = Number(process.env.AUDIT_SCALE_SECONDS ?? 10)
const USERS = 10_000
const SPAN_DAYS = 365

type Layout = "partitioned" | "unpartitioned"

interface Cell {
  readonly layout: Layout
  readonly operation: string
  readonly value: number
  readonly unit: string
}

/** The kernel's migrations 0001-0005 only: the table as it was before partitions. */
const unpartitionedMigrations = (): string => {
  const directory = mkdtempSync(join(tmpdir(), "pk-audit-scale-"))
  for (const file of readdirSync(bundledMigrationsDirectory())) {
    if (file.endsWith(".sql") && Number(file.split("_")[0]) <= 5) {
      symlinkSync(join(bundledMigrationsDirectory(), file), join(directory, file))
    }
  }
  return directory
}

/** Row n (1-based) is n * step back from now: the newest first, spread over SPAN_DAYS. */
const seedSql = (count: number) => {
  const stepMs = (SPAN_DAYS * 86_400_000) / count
  return `INSERT INTO audit_logs (id, actor_id, action, target_id, metadata, "timestamp")
    SELECT gen_random_uuid(),
      CASE WHEN n % 20 = 0 THEN NULL ELSE ${userIdSql(`1 + n % ${USERS}`)} END,
      (ARRAY['user.created', 'user.role_assigned', 'role.permission_granted', 'session.login',
             'document.read', 'document.updated', 'invoice.paid', 'settings.changed'])[1 + n % 8],
      'doc-' || (n % 5000),
      jsonb_build_object('n', n, 'ip', '10.0.' || (n % 250) || '.' || (n % 199), 'agent', 'bench/1.0'),
      now() - interval '1 minute' - n * interval '${stepMs} milliseconds'
    FROM generate_series(1, ${count}) AS n`
}

const walLsn = async (url: string) =>
  String((await runStatement(url, "SELECT pg_current_wal_lsn()::text AS lsn"))[0]!.lsn)
const walBytes = async (url: string, from: string) =>
  Number(
    (await runStatement(url, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${from}')::float8 AS bytes`))[0]!.bytes
  )
const tableBytes = async (url: string) =>
  Number(
    (
      await runStatement(
        url,
        `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::float8 AS bytes FROM pg_class c
         WHERE c.oid = 'audit_logs'::regclass OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'audit_logs'::regclass)`
      )
    )[0]!.bytes
  )

const timed = async <A>(f: () => Promise<A>): Promise<readonly [A, number]> => {
  const startedAt = performance.now()
  const result = await f()
  return [result, (performance.now() - startedAt) / 1000]
}

/** Runs `effect` with a one-connection client of its own on `url` (the bench's superuser). */
const withSql = <A, E>(url: string, effect: Effect.Effect<A, E, SqlClient.SqlClient>): Promise<A> =>
  Effect.runPromise(
    effect.pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1, applicationName: "pk-bench-audit" }))
    ) as Effect.Effect<A, E | SqlError.SqlError>
  )

const measureLayout = async (layout: Layout): Promise<ReadonlyArray<Cell>> =>
  withBenchDatabase(async ({ url }) => {
    const cells: Array<Cell> = []
    const record = (operation: string, value: number, unit: string) => {
      cells.push({ layout, operation, value, unit })
      console.error(`${layout}: ${operation} ${value.toFixed(unit === "ops/s" ? 0 : 3)} ${unit}`)
    }
    const library = await makeLibrary(
      url,
      undefined,
      layout === "unpartitioned" ? { DATABASE_MIGRATIONS_DIRECTORY: unpartitionedMigrations() } : {}
    )
    const now = new Date()
    const oldest = new Date(now.getTime() - SPAN_DAYS * 86_400_000 - 60_000)
    if (layout === "partitioned") {
      // The migration's legacy partition is empty here: monthly partitions over the whole span instead,
      // made by the library month by month as a year of `serve` would have.
      await runStatement(url, "DROP TABLE audit_logs_legacy")
      await withSql(
        url,
        Effect.gen(function* () {
          for (let at = oldest; at <= now; at = nextBoundary("month", at)) {
            yield* ensureAuditPartitions({ period: "month", ahead: 3, now: at })
          }
        })
      )
    }
    // session_replication_role = replica turns the stamping trigger off, so rows keep their seeded times.
    const [, seedSeconds] = await timed(() =>
      runStatement(url, `DO $$ BEGIN SET LOCAL session_replication_role = replica; ${seedSql(rows)}; END $$`)
    )
    record("seed", seedSeconds, "s")
    await runStatement(url, "VACUUM ANALYZE audit_logs")
    record("size after seed", (await tableBytes(url)) / 1_048_576, "MB")

    const audit = library.api.audit
    const loop = (name: string, op: (i: number) => Effect.Effect<unknown, unknown>, callers: number) =>
      library.run(effectLoop(op, callers, seconds)).then((sample) => record(name, sample.opsPerSecond, "ops/s"))
    const entry = (i: number) => ({ action: "bench.append", targetId: String(i), metadata: { i } })
    for (const callers of [1, 8, 32]) await loop(`append, ${callers} caller(s)`, (i) => audit.append(entry(i)), callers)
    const many = Array.from({ length: 100 }, (_, i) => entry(i))
    await loop("appendMany (100 rows), 1 caller", () => audit.appendMany(many), 1)
    await loop("first page (50)", () => audit.list({ limit: 50 }), 1)
    // The deep page: the page after the row 99 % of the way back.
    const deepAt = DateTime.fromDateUnsafe(new Date(now.getTime() - 0.99 * SPAN_DAYS * 86_400_000))
    const deepCursor = await library.run(
      Effect.map(audit.list({ limit: 1, to: deepAt }), (page) => Option.getOrUndefined(page.nextCursor))
    )
    await loop("deep page (99 %)", () => audit.list({ limit: 50, cursor: deepCursor }), 1)
    const actorId = UserId.make(userIdOf(4242))
    await loop("one actor's first page", () => audit.list({ limit: 50, actorId }), 1)
    await loop("one target's first page", () => audit.list({ limit: 50, targetId: "doc-42" }), 1)
    await loop("one action's first page", () => audit.list({ limit: 50, action: "invoice.paid" }), 1)
    const dayFrom = DateTime.fromDateUnsafe(new Date(now.getTime() - 30 * 86_400_000))
    const dayTo = DateTime.add(dayFrom, { days: 1 })
    await loop(
      "one day's logins (time range + action)",
      () => audit.list({ limit: 50, action: "session.login", from: dayFrom, to: dayTo }),
      1
    )

    // Retention: the oldest whole month of the span.
    const firstMonthEnd = nextBoundary("month", nextBoundary("month", oldest))
    if (layout === "partitioned") {
      const archiveDirectory = mkdtempSync(join(tmpdir(), "pk-audit-archive-"))
      try {
        for (const [label, directory] of [
          ["drop a month, archived", archiveDirectory],
          ["drop a month, no archive", undefined]
        ] as const) {
          const expired = (await withSql(url, listAuditPartitions())).find((p) => p.to !== undefined)!
          const lsn = await walLsn(url)
          const [dropped, dropSeconds] = await timed(() =>
            withSql(
              url,
              dropExpiredAuditPartitions({
                retention: Duration.days(1),
                archiveDirectory: directory,
                now: new Date(expired.to!.getTime() + 86_400_000)
              })
            )
          )
          record(
            `${label}: rows`,
            dropped.reduce((sum, p) => sum + (p.rows ?? Number.NaN), 0),
            "rows"
          )
          record(`${label}: time`, dropSeconds, "s")
          record(`${label}: WAL`, (await walBytes(url, lsn)) / 1_048_576, "MB")
          record(`${label}: table size after`, (await tableBytes(url)) / 1_048_576, "MB")
        }
      } finally {
        rmSync(archiveDirectory, { recursive: true, force: true })
      }
    } else {
      const lsn = await walLsn(url)
      const cutoff = firstMonthEnd.toISOString()
      const [, deleteSeconds] = await timed(() =>
        runStatement(
          url,
          `DO $$ BEGIN
             ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_update_delete;
             DELETE FROM audit_logs WHERE "timestamp" < '${cutoff}';
             ALTER TABLE audit_logs ENABLE TRIGGER audit_logs_no_update_delete;
           END $$`
        )
      )
      record("DELETE a month (trigger disabled): time", deleteSeconds, "s")
      const [, vacuumSeconds] = await timed(() => runStatement(url, "VACUUM audit_logs"))
      record("DELETE a month: VACUUM time", vacuumSeconds, "s")
      record("DELETE a month: WAL (DELETE + VACUUM)", (await walBytes(url, lsn)) / 1_048_576, "MB")
      record("DELETE a month: table size after", (await tableBytes(url)) / 1_048_576, "MB")
    }
    await library.close()
    return cells
  })

const main = async () => {
  console.error(`audit scale: ${rows.toLocaleString("en")} rows over ${SPAN_DAYS} days, ${seconds} s a cell`)
  const cells = [...(await measureLayout("partitioned")), ...(await measureLayout("unpartitioned"))]
  const operations = [...new Set(cells.map((cell) => cell.operation))]
  const value = (layout: Layout, operation: string) => {
    const cell = cells.find((c) => c.layout === layout && c.operation === operation)
    return cell === undefined ? "" : `${cell.value.toLocaleString("en", { maximumFractionDigits: 2 })} ${cell.unit}`
  }
  console.log(`\n### audit_logs at ${rows.toLocaleString("en")} rows (${seconds} s a cell)\n`)
  console.log("| operation | partitioned (monthly) | unpartitioned |")
  console.log("|---|---:|---:|")
  for (const operation of operations) {
    console.log(`| ${operation} | ${value("partitioned", operation)} | ${value("unpartitioned", operation)} |`)
  }
  console.log(`\n${JSON.stringify({ rows, seconds, spanDays: SPAN_DAYS, cells })}`)
}

await main()
