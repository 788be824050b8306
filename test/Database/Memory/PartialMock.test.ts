import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Schema } from "effect"
import { mockLayer, partialMock, UnimplementedMockMethod } from "../../../src/Database/Memory/PartialMock.ts"
import { UserRepository } from "../../../src/Database/Repositories/UserRepository.ts"
import { User, UserId, UserNotFound } from "../../../src/Domain/index.ts"

const userId = UserId.make("0190a0b0-0000-7000-8000-000000000001")
const user = Schema.decodeUnknownSync(User)({
  id: userId,
  email: "ann@example.com",
  passwordHash: "hash",
  verified: true,
  createdAt: new Date(0),
  updatedAt: new Date(0)
})

const UserMock = mockLayer(UserRepository, {
  findById: (id) => (id === userId ? Effect.succeed(user) : Effect.fail(new UserNotFound({ id })))
})

const defectOf = <A, E>(exit: Exit.Exit<A, E>): unknown => {
  assert.isTrue(Exit.isFailure(exit))
  if (Exit.isSuccess(exit)) return undefined
  return Cause.squash(exit.cause)
}

describe("mockLayer", () => {
  it.effect("serves the methods it was given", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      assert.strictEqual(yield* users.findById(userId), user)
      const missing = yield* Effect.flip(users.findById(UserId.make("0190a0b0-0000-7000-8000-000000000002")))
      assert.strictEqual(missing._tag, "UserNotFound")
    }).pipe(Effect.provide(UserMock))
  )

  it.effect("dies, naming the repository and the method, when another method is called", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      const exit = yield* Effect.exit(users.delete(userId))
      assert.isTrue(Exit.hasDies(exit))
      const defect = defectOf(exit)
      assert.instanceOf(defect, UnimplementedMockMethod)
      assert.strictEqual(defect.message, "UserRepository.delete is not implemented in this mock")
      assert.strictEqual(defect.service, "UserRepository")
      assert.strictEqual(defect.method, "delete")
    }).pipe(Effect.provide(UserMock))
  )

  it.effect("only dies when the effect runs, so reading or passing the mock around is harmless", () =>
    Effect.gen(function* () {
      const users = partialMock(UserRepository, {})
      const { list } = users
      const pending = list()
      assert.isTrue(Effect.isEffect(pending))
      const defect = defectOf(yield* Effect.exit(pending))
      assert.instanceOf(defect, UnimplementedMockMethod)
      assert.strictEqual(defect.message, "UserRepository.list is not implemented in this mock")
    })
  )

  it("is not mistaken for a promise or a JSON value", async () => {
    const users = partialMock(UserRepository, {})
    assert.isUndefined((users as unknown as { then?: unknown }).then)
    assert.strictEqual(await Promise.resolve(users), users)
    assert.strictEqual(JSON.stringify(users), "{}")
  })
})
