import { assert, describe } from "@effect/vitest"
import { Effect, Exit, Ref, Schema } from "effect"
import { RoleRepository } from "../../src/Database/Repositories/RoleRepository.ts"
import { Transactions } from "../../src/Database/Repositories/Transactions.ts"
import { UserRepository } from "../../src/Database/Repositories/UserRepository.ts"
import { type UserId, withActor } from "../../src/Domain/index.ts"
import { expectFailure } from "../support/Expect.ts"
import {
  auditActionsFor,
  type ContractIt,
  makeHash,
  newRole,
  newUser,
  uniqueEmail,
  uniqueRoleName
} from "./Fixtures.ts"

// A failure of the caller's own, to abort a transaction after its changes were made.
class Abort extends Schema.TaggedError<Abort>()("Abort", {}) {}

export const transactionContract = (it: ContractIt) =>
  describe("Transactions", () => {
    it.effect("changes across repositories commit together", () =>
      Effect.gen(function* () {
        const { withTransaction } = yield* Transactions
        const users = yield* UserRepository
        const roles = yield* RoleRepository
        const email = uniqueEmail()
        const roleName = uniqueRoleName()
        const user = yield* withTransaction(
          Effect.gen(function* () {
            const user = yield* users.create({ email, passwordHash: makeHash() })
            const role = yield* roles.create({ name: roleName })
            yield* users.assignRole(user.id, role.id)
            return user
          })
        )
        assert.strictEqual((yield* users.findByEmail(email)).id, user.id)
        assert.deepStrictEqual(
          (yield* users.rolesOf(user.id)).map((role) => role.name),
          [roleName]
        )
        assert.deepStrictEqual(yield* auditActionsFor(user.id), ["user.role_assigned", "user.created"])
      })
    )

    it.effect("a failure after the changes rolls back every repository and every audit record", () =>
      Effect.gen(function* () {
        const { withTransaction } = yield* Transactions
        const users = yield* UserRepository
        const roles = yield* RoleRepository
        const email = uniqueEmail()
        const roleName = uniqueRoleName()
        const createdId = yield* Ref.make<UserId | undefined>(undefined)
        const error = yield* Effect.flip(
          withTransaction(
            Effect.gen(function* () {
              const user = yield* users.create({ email, passwordHash: makeHash() })
              yield* Ref.set(createdId, user.id)
              const role = yield* roles.create({ name: roleName })
              yield* users.assignRole(user.id, role.id)
              return yield* new Abort()
            })
          )
        )
        assert.strictEqual(error._tag, "Abort", "the caller's error comes back unchanged")
        const userId = (yield* Ref.get(createdId))!
        yield* expectFailure(users.findByEmail(email), "UserNotFound")
        yield* expectFailure(users.findById(userId), "UserNotFound")
        yield* expectFailure(roles.findByName(roleName), "RoleNotFound")
        assert.deepStrictEqual(yield* auditActionsFor(userId), [])
      })
    )

    it.effect("an audited change and its audit record roll back together", () =>
      Effect.gen(function* () {
        const { withTransaction } = yield* Transactions
        const users = yield* UserRepository
        const roles = yield* RoleRepository
        const admin = yield* newUser("admin")
        const user = yield* newUser()
        const role = yield* newRole()
        const exit = yield* Effect.exit(
          withActor(admin.id)(
            withTransaction(
              Effect.gen(function* () {
                yield* users.update(user.id, { email: uniqueEmail(), passwordHash: makeHash(), verified: true })
                yield* roles.update(role.id, { name: uniqueRoleName(), description: "changed" })
                yield* users.assignRole(user.id, role.id)
                yield* users.delete(user.id)
                yield* roles.delete(role.id)
                return yield* new Abort()
              })
            )
          )
        )
        assert.isTrue(Exit.isFailure(exit))
        const found = yield* users.findById(user.id)
        assert.strictEqual(found.email, user.email)
        assert.isFalse(found.verified)
        assert.strictEqual((yield* roles.findById(role.id)).name, role.name)
        assert.deepStrictEqual(yield* users.rolesOf(user.id), [])
        assert.deepStrictEqual(yield* auditActionsFor(user.id), ["user.created"])
        assert.deepStrictEqual(yield* auditActionsFor(role.id), ["role.created"])
      })
    )

    it.effect("a defect rolls back too", () =>
      Effect.gen(function* () {
        const { withTransaction } = yield* Transactions
        const users = yield* UserRepository
        const email = uniqueEmail()
        const exit = yield* Effect.exit(
          withTransaction(Effect.andThen(users.create({ email, passwordHash: makeHash() }), Effect.die("boom")))
        )
        assert.isTrue(Exit.hasDies(exit))
        yield* expectFailure(users.findByEmail(email), "UserNotFound")
      })
    )

    it.effect("a failed nested transaction rolls back only its own changes", () =>
      Effect.gen(function* () {
        const { withTransaction } = yield* Transactions
        const users = yield* UserRepository
        const outerEmail = uniqueEmail("outer")
        const innerEmail = uniqueEmail("inner")
        yield* withTransaction(
          Effect.gen(function* () {
            yield* users.create({ email: outerEmail, passwordHash: makeHash() })
            const inner = yield* Effect.flip(
              withTransaction(
                Effect.andThen(users.create({ email: innerEmail, passwordHash: makeHash() }), new Abort())
              )
            )
            assert.strictEqual(inner._tag, "Abort")
            // The outer transaction goes on and still sees its own row, not the inner one.
            assert.strictEqual((yield* users.findByEmail(outerEmail)).email, outerEmail)
            yield* expectFailure(users.findByEmail(innerEmail), "UserNotFound")
          })
        )
        assert.strictEqual((yield* users.findByEmail(outerEmail)).email, outerEmail)
        yield* expectFailure(users.findByEmail(innerEmail), "UserNotFound")
      })
    )

    it.effect("a domain error inside a transaction rolls back the earlier changes of that transaction", () =>
      Effect.gen(function* () {
        const { withTransaction } = yield* Transactions
        const users = yield* UserRepository
        const taken = yield* newUser()
        const email = uniqueEmail()
        const error = yield* Effect.flip(
          withTransaction(
            Effect.gen(function* () {
              yield* users.create({ email, passwordHash: makeHash() })
              yield* users.create({ email: taken.email, passwordHash: makeHash() })
            })
          )
        )
        assert.strictEqual(error._tag, "EmailAlreadyTaken")
        yield* expectFailure(users.findByEmail(email), "UserNotFound")
      })
    )

    it.effect("a caller that recovers from a domain error can go on and commit the rest", () =>
      Effect.gen(function* () {
        const { withTransaction } = yield* Transactions
        const users = yield* UserRepository
        const roles = yield* RoleRepository
        const taken = yield* newRole()
        const user = yield* newUser()
        const takenUser = yield* newUser()
        const name = uniqueRoleName()
        yield* withTransaction(
          Effect.gen(function* () {
            const role = yield* roles.create({ name })
            const duplicate = yield* Effect.flip(roles.create({ name: taken.name }))
            assert.strictEqual(duplicate._tag, "RoleNameTaken")
            const renamed = yield* Effect.flip(roles.update(role.id, { name: taken.name }))
            assert.strictEqual(renamed._tag, "RoleNameTaken")
            const emailTaken = yield* Effect.flip(users.update(user.id, { email: takenUser.email }))
            assert.strictEqual(emailTaken._tag, "EmailAlreadyTaken")
            yield* users.assignRole(user.id, role.id)
          })
        )
        assert.deepStrictEqual(
          (yield* users.rolesOf(user.id)).map((role) => role.name),
          [name]
        )
      })
    )
  })
