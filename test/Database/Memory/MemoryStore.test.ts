import { assert, describe, it } from "@effect/vitest"
import { DateTime, Deferred, Effect, Exit, Fiber, HashMap } from "effect"
import { TestClock } from "effect/testing"
import { makeMemoryStore } from "../../../src/Database/Memory/MemoryStore.ts"
import { Role, RoleId, RoleName } from "../../../src/Domain/index.ts"

class Boom {
  readonly _tag = "Boom"
}

type Store = ReturnType<typeof makeMemoryStore>

let counter = 0
const roleNamed = (name: string) =>
  new Role({
    id: RoleId.make(`0190a0b0-0000-7000-8000-${String(++counter).padStart(12, "0")}`),
    name: RoleName.make(name),
    description: "",
    createdAt: DateTime.makeUnsafe(0)
  })

const insert = (store: Store, name: string) =>
  store.update((tables) => {
    const role = roleNamed(name)
    return Effect.succeed([role, { ...tables, roles: HashMap.set(tables.roles, role.id, role) }] as const)
  })

const names = (store: Store) =>
  Effect.map(store.read, (tables) => [...HashMap.values(tables.roles)].map((role) => role.name).sort())

describe("MemoryStore transactions", () => {
  it.effect("commit on success", () =>
    Effect.gen(function* () {
      const store = makeMemoryStore()
      yield* store.transaction(Effect.andThen(insert(store, "a"), insert(store, "b")))
      assert.deepStrictEqual(yield* names(store), ["a", "b"])
    })
  )

  it.effect("roll back on a failure, a defect and an interruption", () =>
    Effect.gen(function* () {
      const store = makeMemoryStore()
      yield* insert(store, "kept")
      const failed = yield* Effect.exit(store.transaction(Effect.andThen(insert(store, "x"), Effect.fail(new Boom()))))
      assert.isTrue(Exit.isFailure(failed))
      yield* Effect.exit(store.transaction(Effect.andThen(insert(store, "y"), Effect.die("defect"))))
      yield* Effect.exit(store.transaction(Effect.andThen(insert(store, "z"), Effect.interrupt)))
      assert.deepStrictEqual(yield* names(store), ["kept"])
    })
  )

  it.effect("roll back when the fiber is interrupted from outside", () =>
    Effect.gen(function* () {
      const store = makeMemoryStore()
      const inside = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(
        store.transaction(
          Effect.andThen(insert(store, "x"), Effect.andThen(Deferred.succeed(inside, undefined), Effect.never))
        )
      )
      yield* Deferred.await(inside)
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(yield* names(store), [])
      // The lock was released: a later write goes through.
      yield* insert(store, "after")
      assert.deepStrictEqual(yield* names(store), ["after"])
    })
  )

  it.effect("a write that fails leaves nothing behind", () =>
    Effect.gen(function* () {
      const store = makeMemoryStore()
      const result = yield* Effect.exit(
        store.update((tables) =>
          Effect.andThen(Effect.succeed(tables), Effect.fail(new Boom())).pipe(Effect.as([undefined, tables] as const))
        )
      )
      assert.isTrue(Exit.isFailure(result))
      assert.deepStrictEqual(yield* names(store), [])
    })
  )

  it.effect("nested transactions are savepoints: a caught inner failure undoes only the inner part", () =>
    Effect.gen(function* () {
      const store = makeMemoryStore()
      yield* store.transaction(
        Effect.gen(function* () {
          yield* insert(store, "outer-before")
          yield* store
            .transaction(Effect.andThen(insert(store, "inner"), Effect.fail(new Boom())))
            .pipe(Effect.catch(() => Effect.void))
          yield* store.transaction(insert(store, "inner-kept"))
          yield* insert(store, "outer-after")
        })
      )
      assert.deepStrictEqual(yield* names(store), ["inner-kept", "outer-after", "outer-before"])
    })
  )

  it.effect("an outer failure undoes committed savepoints too", () =>
    Effect.gen(function* () {
      const store = makeMemoryStore()
      yield* Effect.exit(
        store.transaction(Effect.andThen(store.transaction(insert(store, "inner")), Effect.fail(new Boom())))
      )
      assert.deepStrictEqual(yield* names(store), [])
    })
  )

  it.effect("a transaction sees its own writes; others see only committed ones", () =>
    Effect.gen(function* () {
      const store = makeMemoryStore()
      const written = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(
        store.transaction(
          Effect.gen(function* () {
            yield* insert(store, "pending")
            assert.deepStrictEqual(yield* names(store), ["pending"])
            yield* Deferred.succeed(written, undefined)
            yield* Deferred.await(release)
          })
        )
      )
      yield* Deferred.await(written)
      assert.deepStrictEqual(yield* names(store), [], "no dirty read")
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(yield* names(store), ["pending"])
    })
  )

  it.effect("writes wait for an open transaction instead of being lost when it commits", () =>
    Effect.gen(function* () {
      const store = makeMemoryStore()
      const opened = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const tx = yield* Effect.forkChild(
        store.transaction(
          Effect.gen(function* () {
            yield* insert(store, "tx")
            yield* Deferred.succeed(opened, undefined)
            yield* Deferred.await(release)
          })
        )
      )
      yield* Deferred.await(opened)
      const writer = yield* Effect.forkChild(insert(store, "outside"))
      yield* Effect.yieldNow
      assert.isUndefined(writer.pollUnsafe(), "the write waits for the lock")
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(tx)
      yield* Fiber.join(writer)
      assert.deepStrictEqual(yield* names(store), ["outside", "tx"])
    })
  )

  it.effect("concurrent read-modify-writes lose no update", () =>
    Effect.gen(function* () {
      const store = makeMemoryStore()
      // Each write yields between reading and writing, to give other fibers every chance to interleave.
      const slowInsert = (name: string) =>
        store.update((tables) =>
          Effect.gen(function* () {
            yield* Effect.yieldNow
            const role = roleNamed(name)
            return [undefined, { ...tables, roles: HashMap.set(tables.roles, role.id, role) }] as const
          })
        )
      yield* Effect.forEach(
        Array.from({ length: 100 }, (_, i) => `r${i}`),
        slowInsert,
        { concurrency: "unbounded" }
      )
      assert.strictEqual((yield* names(store)).length, 100)
    })
  )

  it.effect("concurrent writes inside one transaction are serialised and all kept", () =>
    Effect.gen(function* () {
      const store = makeMemoryStore()
      yield* store.transaction(
        Effect.forEach(
          Array.from({ length: 20 }, (_, i) => `r${i}`),
          (name) => store.transaction(Effect.andThen(Effect.yieldNow, insert(store, name))),
          { concurrency: "unbounded" }
        )
      )
      assert.strictEqual((yield* names(store)).length, 20)
    })
  )

  it.effect("deeply nested calls do not deadlock", () =>
    Effect.gen(function* () {
      const store = makeMemoryStore()
      yield* store.transaction(
        store.transaction(store.transaction(store.update((t) => Effect.succeed([1, t] as const))))
      )
      yield* store.transaction(store.transaction(insert(store, "deep")))
      assert.deepStrictEqual(yield* names(store), ["deep"])
    })
  )

  it.effect("two stores are independent", () =>
    Effect.gen(function* () {
      const a = makeMemoryStore()
      const b = makeMemoryStore()
      yield* a.transaction(Effect.andThen(insert(a, "a"), insert(b, "b")))
      assert.deepStrictEqual(yield* names(a), ["a"])
      assert.deepStrictEqual(yield* names(b), ["b"])
    })
  )

  it.effect("transactionTime is the start of the outermost transaction, from the Effect Clock", () =>
    Effect.gen(function* () {
      const store = makeMemoryStore()
      yield* TestClock.setTime(1_000)
      assert.strictEqual(DateTime.toEpochMillis(yield* store.transactionTime), 1_000)
      const [outer, inner] = yield* store.transaction(
        Effect.gen(function* () {
          const outer = yield* store.transactionTime
          yield* TestClock.adjust(500)
          const inner = yield* store.transaction(store.transactionTime)
          return [outer, inner] as const
        })
      )
      assert.strictEqual(DateTime.toEpochMillis(outer), 1_000)
      assert.strictEqual(DateTime.toEpochMillis(inner), 1_000)
      assert.strictEqual(DateTime.toEpochMillis(yield* store.transactionTime), 1_500)
    })
  )
})
