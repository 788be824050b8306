import { assert, it, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { DatabaseUnavailable, RoleRepository, Transactions, UserRepository } from "platform-kernel"
import { MemoryDatabase, mockLayer, TestDatabase } from "platform-kernel/testing"
import { Onboarding } from "./Onboarding.ts"

const registersAMember = Effect.gen(function* () {
  const user = yield* (yield* Onboarding).register("Ada@Example.com", Redacted.make("$argon2id$v=19$hash"))
  const roles = yield* (yield* UserRepository).rolesOf(user.id)
  assert.deepStrictEqual(
    roles.map((role) => role.name),
    ["member"]
  )
})

// In memory: a fresh store for each provide, with PostgreSQL's validation, errors and audit records.
it.effect("registers a member, in memory", () =>
  registersAMember.pipe(Effect.provide(Onboarding.layer.pipe(Layer.provideMerge(MemoryDatabase.layer))))
)

// On PostgreSQL: a migrated database of this block's own (on TEST_DATABASE_URL, else on an embedded server),
// copied from a template migrated once, dropped after the block.
layer(Onboarding.layer.pipe(Layer.provideMerge(TestDatabase.layer())), { timeout: "60 seconds" })(
  "on PostgreSQL",
  (it) => {
    it.effect("registers a member", () => registersAMember)
  }
)

// A partial mock, for what neither can produce: only the methods given exist, any other call dies naming it.
const Unavailable = Onboarding.layer.pipe(
  Layer.provide(
    Layer.mergeAll(
      mockLayer(UserRepository, {
        create: () => Effect.fail(new DatabaseUnavailable({ operation: "UserRepository.create", reason: "test" }))
      }),
      mockLayer(RoleRepository, {}),
      mockLayer(Transactions, { withTransaction: (effect) => effect })
    )
  )
)

it.effect("passes DatabaseUnavailable on, typed", () =>
  Effect.gen(function* () {
    const onboarding = yield* Onboarding
    const error = yield* Effect.flip(onboarding.register("ada@example.com", Redacted.make("$argon2id$v=19$hash")))
    assert.strictEqual(error._tag, "DatabaseUnavailable")
  }).pipe(Effect.provide(Unavailable))
)
