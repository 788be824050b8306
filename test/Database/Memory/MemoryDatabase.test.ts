import { assert, describe, it } from "@effect/vitest"
import { DateTime, Deferred, Effect, Fiber, Option, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { MemoryDatabase } from "../../../src/Database/Memory/MemoryDatabase.ts"
import { AuditLogRepository } from "../../../src/Database/Repositories/AuditLogRepository.ts"
import { PermissionRepository } from "../../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../../src/Database/Repositories/RoleRepository.ts"
import { Transactions } from "../../../src/Database/Repositories/Transactions.ts"
import { UserRepository } from "../../../src/Database/Repositories/UserRepository.ts"

const hash = Redacted.make("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")

const createUser = (email: string) => UserRepository.use((users) => users.create({ email, passwordHash: hash }))

const userCount = UserRepository.use((users) => Effect.map(users.list({ limit: 500 }), (page) => page.items.length))

const auditActions = AuditLogRepository.use((audit) =>
  Effect.map(audit.list({ limit: 500 }), (page) => page.items.map((log) => log.action))
)

describe("MemoryDatabase.layer", () => {
  it.effect("gives each provide a fresh store", () =>
    Effect.gen(function* () {
      const first = yield* Effect.andThen(createUser("ann@example.com"), userCount).pipe(
        Effect.provide(MemoryDatabase.layer)
      )
      assert.strictEqual(first, 1)
      assert.strictEqual(yield* userCount.pipe(Effect.provide(MemoryDatabase.layer)), 0)
    })
  )

  it.effect("stamps rows with the Effect Clock, so TestClock controls them", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      yield* TestClock.setTime(DateTime.toEpochMillis(DateTime.makeUnsafe("2026-01-02T03:04:05.678Z")))
      const user = yield* createUser("ann@example.com")
      assert.strictEqual(DateTime.formatIso(user.createdAt), "2026-01-02T03:04:05.678Z")
      assert.strictEqual(DateTime.formatIso(user.updatedAt), "2026-01-02T03:04:05.678Z")
      yield* TestClock.adjust("1 minute")
      const updated = yield* users.update(user.id, { verified: true })
      assert.strictEqual(DateTime.formatIso(updated.createdAt), "2026-01-02T03:04:05.678Z")
      assert.strictEqual(DateTime.formatIso(updated.updatedAt), "2026-01-02T03:05:05.678Z")
    }).pipe(Effect.provide(MemoryDatabase.layer))
  )

  it.effect("like now(), creation times inside a transaction are its start time; updated_at is not", () =>
    Effect.gen(function* () {
      const { withTransaction } = yield* Transactions
      const users = yield* UserRepository
      const audit = yield* AuditLogRepository
      yield* TestClock.setTime(1_000)
      const [user, updated] = yield* withTransaction(
        Effect.gen(function* () {
          yield* TestClock.adjust(10)
          const user = yield* createUser("ann@example.com")
          yield* TestClock.adjust(10)
          const updated = yield* users.update(user.id, { verified: true })
          return [user, updated] as const
        })
      )
      assert.strictEqual(DateTime.toEpochMillis(user.createdAt), 1_000)
      assert.strictEqual(DateTime.toEpochMillis(updated.updatedAt), 1_020)
      const [created] = (yield* audit.list({ targetId: user.id })).items
      assert.strictEqual(DateTime.toEpochMillis(created!.timestamp), 1_000)
    }).pipe(Effect.provide(MemoryDatabase.layer))
  )

  it.effect("concurrent creates of one e-mail (any case): exactly one wins, one audit record", () =>
    Effect.gen(function* () {
      const results = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? "ann@example.com" : "ANN@example.com")),
        (email) => Effect.result(createUser(email)),
        { concurrency: "unbounded" }
      )
      const failures = results.filter((result) => result._tag === "Failure")
      assert.strictEqual(results.length - failures.length, 1)
      for (const failure of failures) {
        if (failure._tag === "Failure") assert.strictEqual(failure.failure._tag, "EmailAlreadyTaken")
      }
      assert.deepStrictEqual(yield* auditActions, ["user.created"])
    }).pipe(Effect.provide(MemoryDatabase.layer))
  )

  it.effect("an interrupted transaction leaves neither rows nor audit records", () =>
    Effect.gen(function* () {
      const { withTransaction } = yield* Transactions
      const created = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(
        withTransaction(
          Effect.gen(function* () {
            yield* createUser("ann@example.com")
            yield* Deferred.succeed(created, undefined)
            return yield* Effect.never
          })
        )
      )
      yield* Deferred.await(created)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(yield* userCount, 0)
      assert.deepStrictEqual(yield* auditActions, [])
      // Nothing is left locked.
      yield* createUser("ann@example.com")
      assert.strictEqual(yield* userCount, 1)
    }).pipe(Effect.provide(MemoryDatabase.layer))
  )

  it.effect("a transaction's uncommitted rows are invisible outside it", () =>
    Effect.gen(function* () {
      const { withTransaction } = yield* Transactions
      const users = yield* UserRepository
      const created = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(
        withTransaction(
          Effect.gen(function* () {
            yield* createUser("ann@example.com")
            yield* Deferred.succeed(created, undefined)
            yield* Deferred.await(release)
          })
        )
      )
      yield* Deferred.await(created)
      const outside = yield* Effect.flip(users.findByEmail("ann@example.com"))
      assert.strictEqual(outside._tag, "UserNotFound")
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(fiber)
      assert.strictEqual((yield* users.findByEmail("ann@example.com")).email, "ann@example.com")
    }).pipe(Effect.provide(MemoryDatabase.layer))
  )
})

describe("MemoryDatabase.layerSeeded", () => {
  const Seeded = MemoryDatabase.layerSeeded(
    Effect.gen(function* () {
      const roles = yield* RoleRepository
      const permissions = yield* PermissionRepository
      const users = yield* UserRepository
      const admin = yield* roles.create({ name: "admin" })
      const read = yield* permissions.create({ name: "iam.users.read" })
      yield* roles.grant(admin.id, read.id)
      const ann = yield* createUser("ann@example.com")
      yield* users.assignRole(ann.id, admin.id)
    })
  )

  it.effect("runs the seed when the layer is built, audited as the system", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      const audit = yield* AuditLogRepository
      const ann = yield* users.findByEmail("ann@example.com")
      assert.isTrue(yield* users.hasPermission(ann.id, "iam.users.read"))
      const logs = (yield* audit.list()).items
      assert.deepStrictEqual(
        logs.map((log) => log.action),
        ["user.role_assigned", "user.created", "role.permission_granted", "permission.created", "role.created"]
      )
      for (const log of logs) assert.isTrue(Option.isNone(log.actorId))
    }).pipe(Effect.provide(Seeded))
  )
})
