import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Ref } from "effect"
import { AuditLogRepository } from "../../../src/Database/Repositories/AuditLogRepository.ts"
import { UserRepository } from "../../../src/Database/Repositories/UserRepository.ts"
import { allPages, makeHash, unique, uniqueEmail } from "../../Contract/Fixtures.ts"
import { RepositoriesTestLayer } from "../../support/RepositoriesTestLayer.ts"

/** Runs `write` over and over on `writers` fibers until `read` is done, then returns what `read` returned. */
const whileWriting = <A, E, R, E2, R2>(
  read: Effect.Effect<A, E, R>,
  write: Effect.Effect<unknown, E2, R2>,
  writers = 3
) =>
  Effect.gen(function* () {
    const written = yield* Ref.make(0)
    const fibers = yield* Effect.forEach(Array.from({ length: writers }), () =>
      Effect.forkChild(
        Effect.forever(
          Effect.andThen(
            write,
            Ref.update(written, (n) => n + 1)
          )
        )
      )
    )
    const result = yield* read
    yield* Effect.forEach(fibers, Fiber.interrupt)
    return { result, written: yield* Ref.get(written) }
  })

const exactlyOnce = (seen: ReadonlyArray<string>, expected: ReadonlyArray<string>) => {
  const counts = new Map<string, number>()
  for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1)
  for (const [id, count] of counts) assert.strictEqual(count, 1, `${id} seen ${count} times`)
  for (const id of expected) assert.isTrue(counts.has(id), `${id} missing`)
}

layer(RepositoriesTestLayer(), { excludeTestServices: true, timeout: "120 seconds" })(
  "keyset pagination under concurrent inserts",
  (it) => {
    it.effect("users: every user that existed before appears exactly once", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const before = yield* Effect.forEach(
          Array.from({ length: 150 }),
          () => users.create({ email: uniqueEmail("before"), passwordHash: makeHash() }),
          { concurrency: 8 }
        )
        const { result: pages, written } = yield* whileWriting(
          allPages((cursor) =>
            Effect.andThen(
              Effect.sleep("2 millis"),
              users.list({ limit: 7, ...(cursor === undefined ? {} : { cursor }) })
            )
          ),
          users.create({ email: uniqueEmail("during"), passwordHash: makeHash() })
        )
        assert.isAbove(written, 0, "rows were inserted while paging")
        const ids = pages.flat().map((user) => user.id)
        exactlyOnce(
          ids,
          before.map((user) => user.id)
        )
        assert.deepStrictEqual([...ids].sort(), ids, "in id order")
      })
    )

    it.effect("audit logs: every record that existed before appears exactly once, newest first", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLogRepository
        const targetId = unique()
        // Batches share one timestamp (ties broken by id); single appends land microseconds apart, often
        // within the same millisecond, which a millisecond cursor would get wrong.
        const batches = yield* Effect.forEach([1, 2, 3], (batch) =>
          audit.appendMany(
            Array.from({ length: 40 }, (_, n) => ({ action: "test.paging", targetId, metadata: { batch, n } }))
          )
        )
        const singles = yield* Effect.forEach(Array.from({ length: 60 }), (_, n) =>
          audit.append({ action: "test.paging", targetId, metadata: { single: n } })
        )
        const before = [...batches.flat(), ...singles].map((log) => log.id)
        const { result: pages, written } = yield* whileWriting(
          allPages((cursor) =>
            Effect.andThen(
              Effect.sleep("2 millis"),
              audit.list({ targetId, limit: 9, ...(cursor === undefined ? {} : { cursor }) })
            )
          ),
          audit.append({ action: "test.paging", targetId, metadata: { during: true } })
        )
        assert.isAbove(written, 0, "rows were inserted while paging")
        const seen = pages.flat()
        exactlyOnce(
          seen.map((log) => log.id),
          before
        )
        // Newest first: the (timestamp, id) keys never increase from one item to the next.
        const beforeSet = new Set<string>(before)
        const old = seen.filter((log) => beforeSet.has(log.id)).map((log) => log.id)
        assert.deepStrictEqual(old, [...before].reverse())
      })
    )
  }
)
