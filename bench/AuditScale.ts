/**
 * The audit log at scale (issue 20): the same calls against a partitioned audit_logs (monthly partitions, as
 * `platform-kernel` makes them) and against the unpartitioned table of migrations 0001-0005, each seeded
 * with AUDIT_SCALE_ROWS rows spread over the last 12 months, and again with a 100,000-row baseline; every
 * per-call figure is printed with its cost at scale over its cost at the baseline, beside the issue's goal
 * (1.2x). Then retention: one month dropped with and without an archive, against a DELETE of a month with the
 * append-only trigger disabled; and migration 0006 run on the unpartitioned table, with an appender running.
 *
 *   npm run bench:audit-scale                     10,000,000 rows, 10 s a cell (a long run: seeding alone
 *                                                 takes many minutes on a small machine)
 *   AUDIT_SCALE_ROWS=200000 AUDIT_SCALE_SECONDS=1 npm run bench:audit-scale    a quick proof that it runs
 *   AUDIT_SCALE_LAYOUTS=partitioned             one layout only (default: partitioned,unpartitioned)
 *
 * After each seed: a CHECKPOINT, then the cells wait (up to BENCH_QUIET_WAIT s, default 300) for the 1-minute load
 * average to fall to BENCH_MAX_LOAD (default 0.5); the load they started at is printed with the figures.
 *
 * Where: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else an embedded server (see Server.ts); a scratch
 * database per layout and size, dropped afterwards. Figures go to stdout as markdown tables, then as JSON.
 * Not part of `npm run bench` nor of CI: run it on a quiet machine.
 */
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PgClient } from "@effect/sql-pg"
import { DateTime, Duration, Effect, Option, Redacted } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import postgres from "postgres"
import { bundledMigrationsDirectory } from "../src/Config/AppConfig.ts"
import * as NodeFiles from "../src/Config/NodeFiles.ts"
import {
  dropExpiredAuditPartitions,
  ensureAuditPartitions,
  listAuditPartitions
} from "../src/Database/AuditPartitions/AuditPartitions.ts"
import { nextBoundary, periodStart } from "../src/Database/AuditPartitions/PartitionPeriod.ts"
import { readMigrationFiles } from "../src/Database/Migrations/MigrationFiles.ts"
import { UserId } from "../src/index.ts"
import { warmUpSeconds } from "./Contenders/Contender.ts"
import { makeLibrary } from "./Contenders/Library.ts"
import { effectLoop } from "./Measure.ts"
import { settle } from "./Quiet.ts"
import { userIdOf, userIdSql } from "./Seed.ts"
import { runStatement, withBenchDatabase } from "./Server.ts"

const rows = Number(process.env.AUDIT_SCALE_ROWS ?? 10_000_000)
// The cells of each layout wait (up to BENCH_QUIET_WAIT s) for the 1-minute load average to fall to BENCH_MAX_LOAD.
const QUIET_LOAD = Number(process.env.BENCH_MAX_LOAD ?? 0.5)
const QUIET_WAIT_SECONDS = Number(process.env.BENCH_QUIET_WAIT ?? 300)
const seconds = Number(process.env.AUDIT_SCALE_SECONDS ?? 10)
/** The issue's baseline: each per-call figure at `rows` is compared with the same figure at this size. */
const BASELINE_ROWS = 100_000
/** The issue's goal: a per-call figure at scale costs at most this many times its cost at the baseline. */
const GOAL = 1.2
const USERS = 10_000
const SPAN_DAYS = 365
const APPEND_MANY_ROWS = 1_000

type Layout = "partitioned" | "unpartitioned"

/** AUDIT_SCALE_LAYOUTS: which layouts to measure (default both; e.g. "partitioned" for its figures alone). */
const layouts: ReadonlyArray<Layout> = (process.env.AUDIT_SCALE_LAYOUTS ?? "partitioned,unpartitioned")
  .split(",")
  .map((name) => name.trim())
  .filter((name): name is Layout => {
    if (name === "partitioned" || name === "unpartitioned") return true
    throw new Error(`AUDIT_SCALE_LAYOUTS: "${name}" is neither partitioned nor unpartitioned`)
  })

interface Cell {
  readonly layout: Layout
  readonly rows: number
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

/** The number of rows of `audit_logs` (a full count). */
const countRows = async (url: string) =>
  Number((await runStatement(url, "SELECT count(*)::float8 AS count FROM audit_logs"))[0]!.count)

/**
 * Migration 0006 as the migrator runs it (its statements in one transaction) on the unpartitioned table,
 * while one appender on a connection of its own inserts one row per transaction back to back: the time the
 * migration took, the appender's longest wait for one insert (the lock it waited for), and the rows before
 * and after (those before plus every append that succeeded, or something was lost).
 */
const measureConversion = async (url: string, record: (operation: string, value: number, unit: string) => void) => {
  const before = await countRows(url)
  const files = await Effect.runPromise(
    readMigrationFiles(bundledMigrationsDirectory()).pipe(Effect.provide(NodeFiles.layer))
  )
  const conversion = files.find((file) => file.id === 6)!
  const appender = postgres(url, { max: 1, prepare: false, onnotice: () => {} })
  let appended = 0
  let failed = 0
  let longestWaitMs = 0
  let running = true
  const appending = (async () => {
    for (let i = 0; running; i++) {
      const startedAt = performance.now()
      try {
        await appender`INSERT INTO audit_logs (id, action, target_id, metadata)
          VALUES (gen_random_uuid(), 'bench.append', ${String(i)}, '{}')`
        appended++
      } catch {
        failed++
      }
      longestWaitMs = Math.max(longestWaitMs, performance.now() - startedAt)
    }
  })()
  try {
    // The appender's own pace first, so a wait seen below is the migration's.
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const paceMs = longestWaitMs
    const [, migrationSeconds] = await timed(() =>
      withSql(
        url,
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* sql.withTransaction(Effect.forEach(conversion.statements, (statement) => sql.unsafe(statement)))
        })
      )
    )
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    running = false
    await appending
    record("migration 0006: time", migrationSeconds, "s")
    record("migration 0006: appender's longest wait", longestWaitMs / 1000, "s")
    record("migration 0006: appender's longest wait before it", paceMs / 1000, "s")
    record("migration 0006: appends failed", failed, "appends")
    record("migration 0006: rows before", before, "rows")
    record("migration 0006: rows after", await countRows(url), "rows")
    record("migration 0006: rows before + appends", before + appended, "rows")
  } finally {
    running = false
    await appending
    await appender.end()
  }
}

const MONTH_MS = 30 * 86_400_000

/**
 * The partitions a page from `from` on opens in the partitioned layout (monthly, from `oldest`'s month to 3
 * months ahead, and the default one, which a lower bound cannot prune): the same label for both layouts.
 */
const partitionsFrom = (from: Date, now: Date): number => {
  let end = periodStart("month", now)
  for (let month = 0; month < 4; month++) end = nextBoundary("month", end)
  let count = 1
  for (let at = periodStart("month", from); at < end; at = nextBoundary("month", at)) count++
  return count
}

const measureLayout = async (layout: Layout, count: number): Promise<ReadonlyArray<Cell>> =>
  withBenchDatabase(async ({ url }) => {
    const cells: Array<Cell> = []
    const record = (operation: string, value: number, unit: string) => {
      cells.push({ layout, rows: count, operation, value, unit })
      console.error(
        `${layout}, ${count.toLocaleString("en")} rows: ${operation} ${value.toFixed(unit === "ops/s" ? 0 : 3)} ${unit}`
      )
    }
    const library = await makeLibrary(
      url,
      undefined,
      layout === "unpartitioned" ? { DATABASE_MIGRATIONS_DIRECTORY: unpartitionedMigrations() } : {},
      // No upkeep of its own: it would make the partitions from now on, racing with those made below.
      false
    )
    const now = new Date()
    const oldest = new Date(now.getTime() - SPAN_DAYS * 86_400_000 - 60_000)
    if (layout === "partitioned") {
      // The migration's legacy partition is empty here, and would leave every seeded row to the default
      // partition (as would partitions from now on): monthly partitions over the whole span instead, made
      // by the library month by month as a year of `serve` would have.
      for (const partition of await withSql(url, listAuditPartitions())) {
        if (!partition.isDefault) await runStatement(url, `DROP TABLE ${partition.name}`)
      }
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
      runStatement(url, `DO $$ BEGIN SET LOCAL session_replication_role = replica; ${seedSql(count)}; END $$`)
    )
    record("seed", seedSeconds, "s")
    await runStatement(url, "VACUUM ANALYZE audit_logs")
    record("size after seed", (await tableBytes(url)) / 1_048_576, "MB")
    if (layout === "partitioned") {
      const partitions = await withSql(url, listAuditPartitions())
      record("partitions (the default one included)", partitions.length, "partitions")
      // Every seeded row has a partition of its month: the default one holds none.
      const inDefault = Number(
        (await runStatement(url, "SELECT count(*)::float8 AS count FROM audit_logs_default"))[0]!.count
      )
      if (inDefault > 0) throw new Error(`${inDefault} seeded rows fell into audit_logs_default`)
    }

    // The seed's dirty pages written out now, not by the checkpointer during the cells; then the cells start
    // only once the load average has forgotten the seed (as each round of `npm run bench` does).
    await runStatement(url, "CHECKPOINT")
    const startLoad = await settle(QUIET_LOAD, QUIET_WAIT_SECONDS, (line) => console.error(`audit scale: ${line}`))
    record("load average at the cells' start", startLoad, "load")

    const audit = library.api.audit
    // Each cell after a short warm-up of its own (plans cached, pages in memory), as `npm run bench` does.
    const loop = (name: string, op: (i: number) => Effect.Effect<unknown, unknown>, callers: number) =>
      library
        .run(Effect.andThen(effectLoop(op, callers, warmUpSeconds(seconds)), effectLoop(op, callers, seconds)))
        .then((sample) => record(name, sample.opsPerSecond, "ops/s"))
    await loop("first page (50)", () => audit.list({ limit: 50 }), 1)
    // The deep page: the page after the row 99 % of the way back.
    const deepAt = DateTime.fromDateUnsafe(new Date(now.getTime() - 0.99 * SPAN_DAYS * 86_400_000))
    const deepCursor = await library.run(
      Effect.map(audit.list({ limit: 1, to: deepAt }), (page) => Option.getOrUndefined(page.nextCursor))
    )
    await loop("deep page (99 %)", () => audit.list({ limit: 50, cursor: deepCursor }), 1)
    // The filters; the audit list has no module filter (the permissions' list has one, not the audit log's).
    const actorId = UserId.make(userIdOf(4242))
    await loop(
      `one actor's first page (${partitionsFrom(oldest, now)} partitions)`,
      () => audit.list({ limit: 50, actorId }),
      1
    )
    const actorCursor = await library.run(
      Effect.map(audit.list({ limit: 50, actorId }), (page) => Option.getOrUndefined(page.nextCursor))
    )
    await loop("one actor's second page", () => audit.list({ limit: 50, actorId, cursor: actorCursor }), 1)
    // How an actor's page grows with the partitions it opens: a lower time bound keeps the older ones out.
    for (const months of [1, 3, 6]) {
      const from = DateTime.fromDateUnsafe(new Date(now.getTime() - months * MONTH_MS))
      await loop(
        `one actor's first page, last ${months} month(s) (${partitionsFrom(DateTime.toDateUtc(from), now)} partitions)`,
        () => audit.list({ limit: 50, actorId, from }),
        1
      )
    }
    await loop("one target's first page", () => audit.list({ limit: 50, targetId: "doc-42" }), 1)
    await loop("one action's first page", () => audit.list({ limit: 50, action: "invoice.paid" }), 1)
    const dayFrom = DateTime.fromDateUnsafe(new Date(now.getTime() - 30 * 86_400_000))
    const dayTo = DateTime.add(dayFrom, { days: 1 })
    await loop("one day (time range)", () => audit.list({ limit: 50, from: dayFrom, to: dayTo }), 1)
    await loop(
      "one day's logins (time range + action)",
      () => audit.list({ limit: 50, action: "session.login", from: dayFrom, to: dayTo }),
      1
    )

    // The appends last: their rows, newer than every seeded one and not yet analyzed, would otherwise be
    // what the pages above read first, in a number that depends on the append rate, not on the table.
    const entry = (i: number) => ({ action: "bench.append", targetId: String(i), metadata: { i } })
    for (const callers of [1, 8, 32]) await loop(`append, ${callers} caller(s)`, (i) => audit.append(entry(i)), callers)
    const many = Array.from({ length: APPEND_MANY_ROWS }, (_, i) => entry(i))
    await loop(`appendMany (${APPEND_MANY_ROWS} rows), 1 caller`, () => audit.appendMany(many), 1)

    // Retention: the oldest partition (part of a month) archived and dropped, then the first whole month
    // dropped without archive; unpartitioned, a DELETE of that same whole month.
    const firstMonthStart = nextBoundary("month", oldest)
    const firstMonthEnd = nextBoundary("month", firstMonthStart)
    if (layout === "partitioned") {
      const archiveDirectory = mkdtempSync(join(tmpdir(), "pk-audit-archive-"))
      try {
        for (const [label, directory] of [
          ["drop the oldest partition, archived", archiveDirectory],
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
      const monthWhere = `"timestamp" >= '${firstMonthStart.toISOString()}' AND "timestamp" < '${firstMonthEnd.toISOString()}'`
      record(
        "DELETE a month: rows",
        Number(
          (await runStatement(url, `SELECT count(*)::float8 AS count FROM audit_logs WHERE ${monthWhere}`))[0]!.count
        ),
        "rows"
      )
      const lsn = await walLsn(url)
      const [, deleteSeconds] = await timed(() =>
        runStatement(
          url,
          `DO $$ BEGIN
             ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_update_delete;
             DELETE FROM audit_logs WHERE ${monthWhere};
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
    // The conversion last: it replaces the table the library's statements were prepared on.
    if (layout === "unpartitioned") await measureConversion(url, record)
    return cells
  })

/** The figures a caller waits for, one call at a time: the ones the goal is about. */
const isPerCall = (cell: Cell) => cell.unit === "ops/s"

const show = (cell: Cell | undefined) =>
  cell === undefined ? "" : `${cell.value.toLocaleString("en", { maximumFractionDigits: 3 })} ${cell.unit}`

/** How many times more a call costs at `rows` than at the baseline (time per call: the inverse of ops/s). */
const costRatio = (atScale: Cell | undefined, atBaseline: Cell | undefined) =>
  atScale === undefined || atBaseline === undefined ? undefined : atBaseline.value / atScale.value

const main = async () => {
  console.error(
    `audit scale: ${rows.toLocaleString("en")} rows and a ${BASELINE_ROWS.toLocaleString("en")}-row baseline over ${SPAN_DAYS} days, ${seconds} s a cell`
  )
  const startedAt = performance.now()
  const sizes = rows === BASELINE_ROWS ? [rows] : [rows, BASELINE_ROWS]
  const cells: Array<Cell> = []
  for (const count of sizes) {
    for (const layout of layouts) cells.push(...(await measureLayout(layout, count)))
  }
  const find = (layout: Layout, count: number, operation: string) =>
    cells.find((c) => c.layout === layout && c.rows === count && c.operation === operation)
  const n = rows.toLocaleString("en")
  const base = BASELINE_ROWS.toLocaleString("en")
  const failing: Array<string> = []
  console.log(`\n### audit_logs per call: ${n} rows against ${base} (${seconds} s a cell)\n`)
  console.log(`Cost ratio: time per call at ${n} rows over time per call at ${base}; the goal is at most ${GOAL}x.\n`)
  console.log(
    `| operation | partitioned, ${n} | partitioned, ${base} | ratio | unpartitioned, ${n} | unpartitioned, ${base} | ratio |`
  )
  console.log("|---|---:|---:|---:|---:|---:|---:|")
  const perCall = [...new Set(cells.filter(isPerCall).map((cell) => cell.operation))]
  for (const operation of perCall) {
    const columns = (["partitioned", "unpartitioned"] as const).flatMap((layout) => {
      const atScale = find(layout, rows, operation)
      const atBaseline = find(layout, BASELINE_ROWS, operation)
      const ratio = costRatio(atScale, atBaseline)
      if (ratio !== undefined && ratio > GOAL) failing.push(`${layout}: ${operation} (${ratio.toFixed(2)}x)`)
      const verdict = ratio === undefined ? "" : `${ratio.toFixed(2)}x ${ratio <= GOAL ? "ok" : "OVER"}`
      return [show(atScale), show(atBaseline), verdict]
    })
    console.log(`| ${operation} | ${columns.join(" | ")} |`)
  }
  console.log(`\n### audit_logs volume figures: seed, retention, conversion (no goal: they grow with the rows)\n`)
  console.log(`| figure | partitioned, ${n} | partitioned, ${base} | unpartitioned, ${n} | unpartitioned, ${base} |`)
  console.log("|---|---:|---:|---:|---:|")
  for (const operation of [...new Set(cells.filter((cell) => !isPerCall(cell)).map((cell) => cell.operation))]) {
    console.log(
      `| ${operation} | ${[
        find("partitioned", rows, operation),
        find("partitioned", BASELINE_ROWS, operation),
        find("unpartitioned", rows, operation),
        find("unpartitioned", BASELINE_ROWS, operation)
      ]
        .map(show)
        .join(" | ")} |`
    )
  }
  console.log(
    failing.length === 0 ? `\nEvery per-call figure within ${GOAL}x.` : `\nOver ${GOAL}x: ${failing.join("; ")}.`
  )
  const totalSeconds = (performance.now() - startedAt) / 1000
  console.log(
    `\n${JSON.stringify({ rows, baselineRows: BASELINE_ROWS, seconds, spanDays: SPAN_DAYS, totalSeconds, cells })}`
  )
  console.error(`audit scale: done in ${totalSeconds.toFixed(0)} s`)
}

await main()
