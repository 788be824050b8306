import { randomBytes } from "node:crypto"
import { assert, describe, it, layer } from "@effect/vitest"
import { Data, Effect, Layer, Option, Redacted } from "effect"
import {
  AuditLogRepository,
  DatabaseUnavailable,
  PermissionRepository,
  RoleRepository,
  Transactions,
  UserId,
  UserRepository,
  withActor
} from "platform-kernel"
import { MemoryDatabase, mockLayer, TestDatabase } from "platform-kernel/testing"
import { AccessService } from "../src/AccessService.ts"

type Repositories = UserRepository | RoleRepository | PermissionRepository | AuditLogRepository | Transactions

class Abort extends Data.TaggedError("Abort") {}

// The PostgreSQL suite shares one database for all its tests, so every test makes names of its own.
const unique = () => `t${randomBytes(5).toString("hex")}`

/** A user holding one role that grants `module.things.read` (and nothing else). */
const reader = Effect.gen(function* () {
  const users = yield* UserRepository
  const roles = yield* RoleRepository
  const permissions = yield* PermissionRepository
  const module = `m${unique()}`
  const user = yield* users.create({ email: `${unique()}@example.io`, passwordHash: Redacted.make("hash") })
  const role = yield* roles.create({ name: `reader-${unique()}` })
  const read = yield* permissions.create({ name: `${module}.things.read` })
  yield* roles.grant(role.id, read.id)
  yield* users.assignRole(user.id, role.id)
  return { user, read: read.name, write: `${module}.things.write` }
})

const checksOf = (permission: string) =>
  AuditLogRepository.use((audit) =>
    Effect.map(audit.list({ targetId: permission, action: "access.checked" }), (page) => page.items)
  )

// The same tests on both implementations of the repositories.
const accessServiceSuite = (name: string, database: Layer.Layer<Repositories, unknown>) =>
  layer(AccessService.layer.pipe(Layer.provideMerge(database)), { excludeTestServices: true, timeout: "120 seconds" })(
    `AccessService on ${name}`,
    (it) => {
      it.effect("allows what the user's roles grant, and nothing else", () =>
        Effect.gen(function* () {
          const access = yield* AccessService
          const { user, read, write } = yield* reader
          assert.isTrue(yield* access.check(user.id, read))
          assert.isFalse(yield* access.check(user.id, write))
          const stranger = UserId.make("00000000-0000-7000-8000-00000000abcd")
          assert.isFalse(yield* access.check(stranger, read))
        })
      )

      it.effect("records every question, by the calling actor, with its answer", () =>
        Effect.gen(function* () {
          const access = yield* AccessService
          const { user, read, write } = yield* reader
          yield* withActor(user.id)(access.check(user.id, read))
          yield* access.check(user.id, write)

          const [readCheck] = yield* checksOf(read)
          assert.deepStrictEqual(readCheck!.metadata, { userId: user.id, allowed: true })
          assert.deepStrictEqual(readCheck!.actorId, Option.some(user.id))
          const [writeCheck] = yield* checksOf(write)
          assert.deepStrictEqual(writeCheck!.metadata, { userId: user.id, allowed: false })
          assert.isTrue(Option.isNone(writeCheck!.actorId), "no actor: the system asked")
        })
      )

      it.effect("rejects a malformed permission and records nothing", () =>
        Effect.gen(function* () {
          const access = yield* AccessService
          const { user } = yield* reader
          const permission = `Not A Permission ${unique()}`
          const error = yield* Effect.flip(access.check(user.id, permission))
          assert.strictEqual(error._tag, "InvalidInput")
          assert.deepStrictEqual(yield* checksOf(permission), [])
        })
      )

      it.effect("joins the caller's transaction: when the caller fails, the record goes too", () =>
        Effect.gen(function* () {
          const access = yield* AccessService
          const { withTransaction } = yield* Transactions
          const { user, read } = yield* reader
          const error = yield* Effect.flip(withTransaction(Effect.andThen(access.check(user.id, read), new Abort())))
          assert.strictEqual(error._tag, "Abort")
          assert.deepStrictEqual(yield* checksOf(read), [])
        })
      )
    }
  )

accessServiceSuite("in-memory repositories", MemoryDatabase.layer)
// A migrated database of this file's own, on TEST_DATABASE_URL (else an embedded server), dropped afterwards.
accessServiceSuite("PostgreSQL", TestDatabase.layer())

describe("AccessService with partial mocks", () => {
  // Only what this test needs: any other call (e.g. an audit append) would die naming the method.
  const Unavailable = AccessService.layer.pipe(
    Layer.provide(
      Layer.mergeAll(
        mockLayer(UserRepository, {
          hasPermission: () =>
            Effect.fail(new DatabaseUnavailable({ operation: "UserRepository.hasPermission", reason: "test" }))
        }),
        mockLayer(AuditLogRepository, {}),
        mockLayer(Transactions, { withTransaction: (effect) => effect })
      )
    )
  )

  it.effect("passes DatabaseUnavailable on and records nothing", () =>
    Effect.gen(function* () {
      const access = yield* AccessService
      const error = yield* Effect.flip(access.check(UserId.make("00000000-0000-7000-8000-00000000abcd"), "a.b.c"))
      assert.strictEqual(error._tag, "DatabaseUnavailable")
    }).pipe(Effect.provide(Unavailable))
  )
})
