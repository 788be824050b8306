/**
 * Pages over the partitioned audit_logs (Postgres/AuditPageLayout.ts): two complementary branches, the range
 * partitions' and the rest, bounded by constants read from the catalog. What must hold: every row is found
 * once, in order, whatever the bounds the store read (even bounds made stale behind its back); and PostgreSQL
 * keeps one generic plan per statement instead of planning every page over every partition.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { DateTime, Effect, Option } from "effect"
import { SqlClient } from "effect/sql"
import { recordStatements } from "../../../bench/Recorder.ts"
import { ensureAuditPartitions, listAuditPartitions } from "../../../src/Database/AuditPartitions/AuditPartitions.ts"
import { branchConditions, layoutOf } from "../../../src/Database/Postgres/AuditPageLayout.ts"
import { AuditLogRepository } from "../../../src/Database/Repositories/AuditLogRepository.ts"
import type { AuditLogId, UserId } from "../../../src/Domain/index.ts"
import { RepositoriesTestLayer } from "../../support/RepositoriesTestLayer.ts"

const us = (iso: string) => String(Date.parse(iso) * 1000)
const bound = (lower: string | null, upper: string | null) => ({
  lower_text: lower,
  lower_us: lower === null ? null : us(lower),
  upper_text: upper,
  upper_us: upper === null ? null : us(upper)
})
const lit = (iso: string) => `'${iso}'::timestamptz`

describe("the page layout", () => {
  it("is the newest run of contiguous partitions; the default partition and those before a gap are the rest", () => {
    const layout = layoutOf([
      bound(null, null), // the default partition
      bound("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"), // before a gap
      bound("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"),
      bound("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z")
    ])!
    assert.strictEqual(layout.from?.literal, lit("2026-03-01T00:00:00Z"))
    assert.strictEqual(layout.to.literal, lit("2026-05-01T00:00:00Z"))
    assert.deepStrictEqual(
      layout.ends.map((end) => end.literal),
      [lit("2026-04-01T00:00:00Z"), lit("2026-05-01T00:00:00Z")]
    )
    assert.isUndefined(layoutOf([bound(null, null)]), "only the default partition: no run")
    assert.isUndefined(layoutOf([]), "not partitioned")
  })

  const legacy = layoutOf([
    bound(null, null),
    bound(null, "2026-03-01T00:00:00Z"), // the legacy partition, FROM (MINVALUE)
    bound("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"),
    bound("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z")
  ])!

  it("without a time: the run up to its end, the rest after it", () => {
    assert.deepStrictEqual(branchConditions(legacy, { cursor: undefined, from: undefined, to: undefined }), {
      run: `"timestamp" < ${lit("2026-05-01T00:00:00Z")}`,
      rest: `"timestamp" >= ${lit("2026-05-01T00:00:00Z")}`
    })
  })

  it("after a cursor, or with from and to: both branches end and start at the partitions holding them", () => {
    const cursor = Number(us("2026-03-10T12:00:00Z"))
    assert.deepStrictEqual(branchConditions(legacy, { cursor, from: undefined, to: undefined }), {
      run: `"timestamp" < ${lit("2026-04-01T00:00:00Z")}`,
      rest: `"timestamp" >= ${lit("2026-05-01T00:00:00Z")} AND "timestamp" < ${lit("2026-04-01T00:00:00Z")}`
    })
    // `to` on a partition's end keeps that partition's end; `from` inside one starts at its start.
    const from = Number(us("2026-03-10T00:00:00Z"))
    const to = Number(us("2026-04-01T00:00:00Z"))
    assert.deepStrictEqual(branchConditions(legacy, { cursor: undefined, from, to }), {
      run: `"timestamp" >= ${lit("2026-03-01T00:00:00Z")} AND "timestamp" < ${lit("2026-04-01T00:00:00Z")}`,
      rest: `"timestamp" >= ${lit("2026-05-01T00:00:00Z")} AND "timestamp" >= ${lit("2026-03-01T00:00:00Z")} AND "timestamp" < ${lit("2026-04-01T00:00:00Z")}`
    })
    // A cursor or a `to` past the run bounds nothing; a `from` in the legacy partition starts nowhere.
    const late = Number(us("2027-01-01T00:00:00Z"))
    const early = Number(us("2025-01-01T00:00:00Z"))
    assert.deepStrictEqual(
      branchConditions(legacy, { cursor: late, from: early, to: late }),
      branchConditions(legacy, { cursor: undefined, from: undefined, to: undefined })
    )
  })
})

/** Audit rows at the given times (the stamping trigger off: superuser only), their ids. */
const insertAt = (times: ReadonlyArray<Date>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        yield* sql`SET LOCAL session_replication_role = replica`
        const ids: Array<string> = []
        for (const [index, at] of times.entries()) {
          const [row] = yield* sql<{ readonly id: string }>`
            INSERT INTO audit_logs (id, actor_id, action, target_id, "timestamp")
            VALUES (gen_random_uuid(), NULL, 'test.paged', ${`row-${index}`}, ${at}) RETURNING id`
          ids.push(row!.id)
        }
        return ids
      })
    )
  })

/** Every row by walking pages of `limit`, and the same rows as SQL orders them. */
const walk = (limit: number, filter: { readonly from?: DateTime.Utc; readonly to?: DateTime.Utc } = {}) =>
  Effect.gen(function* () {
    const audit = yield* AuditLogRepository
    const sql = yield* SqlClient.SqlClient
    const paged: Array<AuditLogId> = []
    let cursor: string | undefined
    do {
      const page = yield* audit.list({ limit, action: "test.paged", ...filter, ...(cursor ? { cursor } : {}) })
      paged.push(...page.items.map((log) => log.id))
      cursor = Option.getOrUndefined(page.nextCursor)
    } while (cursor !== undefined)
    const expected = yield* sql<{ readonly id: AuditLogId }>`SELECT id FROM audit_logs
      WHERE action = 'test.paged'
        AND "timestamp" >= ${filter.from === undefined ? new Date(0) : DateTime.toDateUtc(filter.from)}
        AND "timestamp" < ${filter.to === undefined ? new Date(8.64e15) : DateTime.toDateUtc(filter.to)}
      ORDER BY "timestamp" DESC, id DESC`
    return { paged, expected: expected.map((row) => row.id) }
  })

layer(RepositoriesTestLayer(), { timeout: "60 seconds" })("pages over partitions", (it) => {
  it.effect("find every row once, in order, in the default partition too and with bounds made stale", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const now = Date.now()
      const day = 86_400_000
      yield* ensureAuditPartitions({ period: "day", ahead: 3, now: new Date(now) })
      const ranged = (yield* listAuditPartitions()).filter((p) => p.from !== undefined && p.to !== undefined)
      const newest = ranged.at(-1)!
      // Rows in the legacy partition, in each made one, and past the newest (the default partition).
      const times = [
        ...Array.from({ length: 12 }, (_, n) => new Date(now - 3 * day + n * 8 * 3_600_000)),
        ...Array.from({ length: 5 }, (_, n) => new Date(newest.to!.getTime() + n * day + 1_000))
      ]
      yield* insertAt(times)
      const fresh = yield* walk(5)
      assert.strictEqual(fresh.paged.length, times.length)
      assert.deepStrictEqual(fresh.paged, fresh.expected)

      // A partition made behind the store's back (another instance): the store still reads its bounds of
      // before, and its rows (moved out of the default partition by hand, as an owner would) are still found.
      const next = new Date(newest.to!.getTime() + 10 * day)
      yield* sql.withTransaction(
        Effect.gen(function* () {
          yield* sql`SET LOCAL session_replication_role = replica`
          yield* sql`CREATE TEMP TABLE moved (LIKE audit_logs) ON COMMIT DROP`
          yield* sql`WITH gone AS (
              DELETE FROM audit_logs_default WHERE "timestamp" >= ${newest.to!} AND "timestamp" < ${next} RETURNING *
            ) INSERT INTO moved SELECT * FROM gone`
          yield* sql.unsafe(
            `CREATE TABLE audit_logs_behind PARTITION OF audit_logs FOR VALUES FROM ('${newest.to!.toISOString()}') TO ('${next.toISOString()}')`
          )
          yield* sql`INSERT INTO audit_logs SELECT * FROM moved`
        })
      )
      const [inNew] = yield* sql<{ readonly count: number }>`SELECT count(*)::int AS count FROM audit_logs_behind`
      assert.strictEqual(inNew!.count, 5)
      for (const limit of [1, 3, 7, 50]) {
        const stale = yield* walk(limit)
        assert.deepStrictEqual(stale.paged, stale.expected, `pages of ${limit}`)
      }
      const from = DateTime.makeUnsafe(now - 2 * day)
      const to = DateTime.makeUnsafe(newest.to!.getTime() + 2 * day)
      const ranged2 = yield* walk(2, { from, to })
      assert.isAbove(ranged2.expected.length, 0)
      assert.deepStrictEqual(ranged2.paged, ranged2.expected)
    })
  )

  it.effect("are planned once: PostgreSQL keeps a generic plan for each page's statement", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const audit = yield* AuditLogRepository
      yield* ensureAuditPartitions({ period: "day", ahead: 3, now: new Date() })
      const ranged = (yield* listAuditPartitions()).filter((p) => p.from !== undefined && p.to !== undefined)
      yield* insertAt(Array.from({ length: 30 }, (_, n) => new Date(ranged.at(-2)!.from!.getTime() + n * 60_000)))
      const first = yield* audit.list({ limit: 2 })
      const pages = {
        first: audit.list({ limit: 20 }),
        actor: audit.list({ limit: 20, actorId: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b" as UserId }),
        cursor: audit.list({ limit: 20, cursor: Option.getOrUndefined(first.nextCursor) }),
        range: audit.list({
          limit: 20,
          from: DateTime.fromDateUnsafe(ranged.at(-2)!.from!),
          to: DateTime.fromDateUnsafe(ranged.at(-2)!.to!)
        })
      }
      // One connection for all: its prepared statements tell how each was planned.
      yield* sql.withTransaction(
        Effect.gen(function* () {
          for (const [name, page] of Object.entries(pages)) {
            const [, statements] = yield* recordStatements(page)
            for (let run = 0; run < 7; run++) yield* page
            const [prepared] = yield* sql<{ readonly generic: number; readonly custom: number }>`
              SELECT generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements
              WHERE statement = ${statements[0]!.sql}`
            assert.isDefined(prepared, `${name}: prepared`)
            assert.isAbove(prepared!.generic, 0, `${name}: ${JSON.stringify(prepared)}\n${statements[0]!.sql}`)
          }
        })
      )
    })
  )
})
