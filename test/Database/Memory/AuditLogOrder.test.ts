/**
 * The in-memory audit log keeps its rows in keyset order, so a page costs O(log n + page) rows read instead of
 * a sort of the whole table (320 pages at 245k rows took 113 s when every call sorted). Counted, not timed:
 * the comparisons and rows read by the sorted sequence, and the sorts run while pages are listed.
 */
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Option } from "effect"
import { TestClock } from "effect/testing"
import { afterEach, vi } from "vitest"
import type { AuditKey, AuditLogQuery } from "../../../src/Database/Front/RepositoryStore.ts"
import { makeAuditLogStoreMemory } from "../../../src/Database/Memory/AuditLogStoreMemory.ts"
import { makeMemoryStore } from "../../../src/Database/Memory/MemoryStore.ts"
import * as SortedRows from "../../../src/Database/Memory/SortedRows.ts"
import { compareText } from "../../../src/Database/Memory/TextOrder.ts"
import { AuditAction, type AuditLog, AuditLogId, UserId } from "../../../src/Domain/index.ts"

const ROWS = 200_000
const PAGE = 50

afterEach(() => {
  vi.restoreAllMocks()
})

// Mostly ascending, as appends arrive, with a shuffled run every so often (a batch, a clock step back).
const arrivalOrder = (count: number): Array<number> => {
  const values = Array.from({ length: count }, (_, index) => index * 2)
  for (let start = 0; start + 64 <= count; start += 997)
    values.splice(start, 64, ...values.slice(start, start + 64).reverse())
  return values
}

describe("SortedRows: a persistent sorted sequence", () => {
  const compare = (left: number, right: number) => left - right
  const rows = SortedRows.insertAll(SortedRows.empty as SortedRows.SortedRows<number>, arrivalOrder(ROWS), compare)

  it("holds every row in order", () => {
    const all = rows.chunks.flat()
    assert.strictEqual(all.length, ROWS)
    assert.strictEqual(rows.size, ROWS)
    const outOfOrder = all.filter((value, index) => index > 0 && all[index - 1]! >= value)
    assert.deepStrictEqual(outOfOrder, [])
  })

  it(`reads a page of ${PAGE} below a cursor among ${ROWS} rows with O(log n) comparisons and ${PAGE} rows`, () => {
    let comparisons = 0
    const cursor = ROWS // an even number in the middle: the page starts just below it
    const page: Array<number> = []
    for (const row of SortedRows.descendingBelow(rows, (value) => {
      comparisons++
      return value < cursor
    })) {
      page.push(row)
      if (page.length === PAGE) break
    }
    assert.deepStrictEqual(
      page,
      Array.from({ length: PAGE }, (_, index) => cursor - 2 - index * 2)
    )
    // Two binary searches: over the chunks (n / 128 at most), then within one chunk (256 at most).
    assert.isAtMost(comparisons, Math.ceil(Math.log2(ROWS / 128)) + Math.ceil(Math.log2(256)) + 2)
  })

  it("an insert leaves the earlier version as it was (a snapshot, a rolled-back transaction)", () => {
    const before = rows.chunks.flat()
    const after = SortedRows.insertAll(rows, [ROWS - 1, -1, ROWS * 2 + 1], compare)
    assert.deepStrictEqual(rows.chunks.flat(), before)
    assert.strictEqual(after.size, ROWS + 3)
    assert.deepStrictEqual(after.chunks.flat(), [...before, ROWS - 1, -1, ROWS * 2 + 1].sort(compare))
  })
})

describe("the in-memory audit log at 200,000 rows", () => {
  const hex = (value: number, digits: number) => value.toString(16).padStart(digits, "0").slice(-digits)
  // UUIDv7-shaped, not in insertion order within a batch (as random bits are).
  const idOf = (index: number) => {
    const scrambled = (index * 2654435761) % 2 ** 32
    return `0190a0b0-${hex(index >>> 16, 4)}-7${hex(scrambled, 3)}-8${hex(scrambled >>> 12, 3)}-${hex(index, 12)}`
  }
  const actors = Array.from({ length: 8 }, (_, index) => UserId.make(`0190a0b0-0000-7000-8000-${hex(index + 1, 12)}`))
  const actions = ["user.created", "user.updated", "role.assigned"] as const

  /** The old reading: every row (sorted newest first once, by the test), filtered. */
  const reference = (newestFirst: ReadonlyArray<AuditLog>, query: AuditLogQuery): Array<string> => {
    const millis = (log: AuditLog) => DateTime.toEpochMillis(log.timestamp)
    const afterMillis = query.after === undefined ? undefined : Number(BigInt(query.after[0]) / 1000n)
    return newestFirst
      .filter(
        (log) =>
          (afterMillis === undefined ||
            millis(log) < afterMillis ||
            (millis(log) === afterMillis && compareText(log.id, query.after![1]) < 0)) &&
          (query.actorId === undefined || Option.getOrUndefined(log.actorId) === query.actorId) &&
          (query.targetId === undefined || Option.getOrUndefined(log.targetId) === query.targetId) &&
          (query.action === undefined || log.action === query.action) &&
          (query.from === undefined || millis(log) >= DateTime.toEpochMillis(query.from)) &&
          (query.to === undefined || millis(log) < DateTime.toEpochMillis(query.to))
      )
      .slice(0, query.limit)
      .map((log) => log.id)
  }

  it.effect("pages are the old pages (order, cursor, filters), and listing them sorts nothing", () =>
    Effect.gen(function* () {
      const store = makeMemoryStore()
      const auditLogs = makeAuditLogStoreMemory(store)
      const logs: Array<AuditLog> = []
      const batch = 1_000
      for (let start = 0; start < ROWS; start += batch) {
        // Time goes forward, with a step back now and then (TestClock, a clock correction).
        const step = start / batch
        yield* TestClock.setTime(1_000_000 + step * 5 - (step % 9 === 8 ? 12 : 0))
        const rows = Array.from({ length: batch }, (_, offset) => {
          const index = start + offset
          return {
            id: AuditLogId.make(idOf(index)),
            actorId: index % 5 === 0 ? Option.none() : Option.some(actors[index % actors.length]!),
            action: actions[index % actions.length]!,
            targetId: Option.some(`target-${index % 1_000}`),
            metadata: {}
          }
        })
        logs.push(...(yield* auditLogs.insert(rows as never)))
      }

      const base: AuditLogQuery = {
        after: undefined,
        limit: PAGE,
        actorId: undefined,
        targetId: undefined,
        action: undefined,
        from: undefined,
        to: undefined
      }
      const middle = logs[ROWS / 2]!
      const middleKey: AuditKey = [String(BigInt(DateTime.toEpochMillis(middle.timestamp)) * 1000n), middle.id]
      const queries: Array<AuditLogQuery> = [
        base,
        { ...base, after: middleKey },
        { ...base, actorId: actors[3]! },
        { ...base, actorId: actors[3]!, after: middleKey },
        { ...base, targetId: "target-7", after: middleKey },
        { ...base, action: AuditAction.make("role.assigned") },
        { ...base, actorId: actors[2]!, action: AuditAction.make("user.updated") },
        { ...base, from: DateTime.makeUnsafe(1_000_400), to: DateTime.makeUnsafe(1_000_410), limit: 10_000 },
        { ...base, actorId: UserId.make("0190a0b0-0000-7000-8000-ffffffffffff") },
        { ...base, limit: 0 }
      ]

      const sort = vi.spyOn(Array.prototype, "sort")
      const pages: Array<ReadonlyArray<readonly [AuditLog, AuditKey]>> = []
      for (const query of queries) pages.push(yield* auditLogs.list(query))
      const sorted = sort.mock.contexts.map((array) => (array as Array<unknown>).length)
      sort.mockRestore()
      assert.deepStrictEqual(
        sorted.filter((length) => length > PAGE),
        [],
        "listing a page sorted a whole table"
      )

      const millis = (log: AuditLog) => DateTime.toEpochMillis(log.timestamp)
      const newestFirst = logs.toSorted((left, right) => millis(right) - millis(left) || compareText(right.id, left.id))
      for (const [index, query] of queries.entries()) {
        const page = pages[index]!
        assert.deepStrictEqual(
          page.map(([log]) => log.id),
          reference(newestFirst, query),
          `query ${index}`
        )
        for (const [log, key] of page) {
          assert.deepStrictEqual(key, [String(BigInt(DateTime.toEpochMillis(log.timestamp)) * 1000n), log.id])
        }
      }
      assert.strictEqual(pages[0]!.length, PAGE)
      assert.isAbove(pages[7]!.length, PAGE)
    })
  )
})
