import { assert, describe } from "@effect/vitest"
import { DateTime, Effect, Redacted } from "effect"
import { UserRepository } from "../../src/Database/Repositories/UserRepository.ts"
import { type User, UserId } from "../../src/Domain/index.ts"
import { expectFailure, expectInvalid } from "../support/Expect.ts"
import { allPages, auditLogs, type ContractIt, makeHash, newUser, unique, uniqueEmail } from "./Fixtures.ts"

const missingUserId = UserId.make("00000000-0000-7000-8000-000000000000")

const allUsers = UserRepository.use((users) =>
  Effect.map(
    allPages((cursor) => users.list({ limit: 500, cursor })),
    (pages) => pages.flat()
  )
)

const createdCount = Effect.map(auditLogs({ action: "user.created" }), (logs) => logs.length)

export const userContract = (it: ContractIt) =>
  describe("UserRepository", () => {
    it.effect("create stores a normalised e-mail, the hash as given, unverified by default", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const local = unique()
        const hash = makeHash()
        const user = yield* users.create({ email: `  ${local.toUpperCase()}@Example.IO `, passwordHash: hash })
        assert.strictEqual(user.email, `${local}@example.io`)
        assert.strictEqual(Redacted.value(user.passwordHash), Redacted.value(hash))
        assert.isFalse(user.verified)
        assert.isTrue(DateTime.isDateTime(user.createdAt))
        assert.isTrue(DateTime.isDateTime(user.updatedAt))

        const verified = yield* users.create({ email: uniqueEmail(), passwordHash: makeHash(), verified: true })
        assert.isTrue(verified.verified)
      })
    )

    it.effect("findById and findByEmail (case-insensitive, trimmed) return the created user", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const user = yield* newUser()
        const byId = yield* users.findById(user.id)
        assert.strictEqual(byId.id, user.id)
        assert.strictEqual(byId.email, user.email)
        assert.strictEqual(Redacted.value(byId.passwordHash), Redacted.value(user.passwordHash))
        const byEmail = yield* users.findByEmail(` ${user.email.toUpperCase()} `)
        assert.strictEqual(byEmail.id, user.id)
      })
    )

    it.effect("findById batches concurrent lookups; a missing id fails only its own lookup", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const created = yield* Effect.forEach([1, 2, 3, 4, 5], () => newUser())
        const ids = [...created.map((user) => user.id), missingUserId]
        const results = yield* Effect.forEach(ids, (id) => Effect.result(users.findById(id)), {
          concurrency: "unbounded"
        })
        results.slice(0, 5).forEach((result, index) => {
          assert.strictEqual(result._tag, "Success")
          if (result._tag === "Success") assert.strictEqual(result.success.id, created[index]!.id)
        })
        const missing = yield* expectFailure(Effect.fromResult(results[5]!), "UserNotFound")
        assert.strictEqual(missing.id, missingUserId)
      })
    )

    it.effect("unknown ids and e-mails fail with UserNotFound", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const byId = yield* expectFailure(users.findById(missingUserId), "UserNotFound")
        assert.strictEqual(byId.id, missingUserId)
        const byEmail = yield* expectFailure(users.findByEmail(uniqueEmail("nobody")), "UserNotFound")
        assert.include(byEmail.email ?? "", "nobody.")
        yield* expectFailure(users.findById("not-a-uuid" as UserId), "UserNotFound")
        yield* expectFailure(users.update(missingUserId, { verified: true }), "UserNotFound")
        yield* expectFailure(users.delete(missingUserId), "UserNotFound")
      })
    )

    it.effect("e-mail uniqueness ignores case: A@x.io then a@x.io fails with EmailAlreadyTaken", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const local = unique()
        const first = yield* users.create({ email: `${local.toUpperCase()}@X.io`, passwordHash: makeHash() })
        const error = yield* expectFailure(
          users.create({ email: `${local}@x.io`, passwordHash: makeHash() }),
          "EmailAlreadyTaken"
        )
        assert.strictEqual(error.email, `${local}@x.io`)
        assert.strictEqual((yield* users.findByEmail(`${local}@x.io`)).id, first.id)
      })
    )

    it.effect("invalid e-mails are rejected on field email and nothing is written", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const before = (yield* allUsers).length
        const auditBefore = yield* createdCount
        const invalid = [
          "",
          "   ",
          "not-an-email",
          "a@b",
          "two@@example.io",
          "x@y..io",
          `${"a".repeat(250)}@example.io`
        ]
        for (const email of invalid) {
          yield* expectInvalid(users.create({ email, passwordHash: makeHash() }), "email")
          yield* expectInvalid(users.findByEmail(email), "email")
        }
        assert.strictEqual((yield* allUsers).length, before)
        assert.strictEqual(yield* createdCount, auditBefore)
      })
    )

    it.effect("an invalid password hash is rejected on field passwordHash without quoting it", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const email = uniqueEmail()
        yield* expectInvalid(users.create({ email, passwordHash: Redacted.make("   ") }), "passwordHash")
        const long = `SECRETHASH${"x".repeat(2000)}`
        const error = yield* expectInvalid(users.create({ email, passwordHash: Redacted.make(long) }), "passwordHash")
        assert.notInclude(String(error), "SECRETHASH")
        assert.notInclude(JSON.stringify(error), "SECRETHASH")
        yield* expectFailure(users.findByEmail(email), "UserNotFound")
      })
    )

    it.effect("update changes only the given fields; an empty patch returns the current row", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const user = yield* newUser()
        const unchanged = yield* users.update(user.id, {})
        assert.strictEqual(unchanged.email, user.email)
        assert.isFalse(unchanged.verified)
        assert.isTrue(DateTime.Equivalence(unchanged.updatedAt, user.updatedAt))

        const verified = yield* users.update(user.id, { verified: true })
        assert.isTrue(verified.verified)
        assert.strictEqual(verified.email, user.email)
        assert.strictEqual(Redacted.value(verified.passwordHash), Redacted.value(user.passwordHash))

        const newEmail = uniqueEmail("renamed")
        const renamed = yield* users.update(user.id, { email: ` ${newEmail.toUpperCase()} ` })
        assert.strictEqual(renamed.email, newEmail)
        assert.isTrue(renamed.verified)

        const hash = makeHash()
        const rehashed = yield* users.update(user.id, { passwordHash: hash })
        assert.strictEqual(Redacted.value(rehashed.passwordHash), Redacted.value(hash))
        assert.strictEqual(rehashed.email, newEmail)

        const found = yield* users.findById(user.id)
        assert.strictEqual(found.email, newEmail)
        assert.isTrue(found.verified)
        assert.strictEqual(Redacted.value(found.passwordHash), Redacted.value(hash))
      })
    )

    it.effect("update rejects a taken e-mail (any case) and invalid input, leaving the row as it was", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const taken = yield* newUser()
        const user = yield* newUser()
        const error = yield* expectFailure(
          users.update(user.id, { email: taken.email.toUpperCase() }),
          "EmailAlreadyTaken"
        )
        assert.strictEqual(error.email, taken.email)
        yield* expectInvalid(users.update(user.id, { email: "nope", verified: true }), "email")
        yield* expectInvalid(users.update(user.id, { passwordHash: Redacted.make("") }), "passwordHash")
        const found = yield* users.findById(user.id)
        assert.strictEqual(found.email, user.email)
        assert.isFalse(found.verified)
        assert.strictEqual(Redacted.value(found.passwordHash), Redacted.value(user.passwordHash))
      })
    )

    it.effect("delete removes the user; deleting again fails with UserNotFound", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const user = yield* newUser()
        yield* users.delete(user.id)
        yield* expectFailure(users.findById(user.id), "UserNotFound")
        yield* expectFailure(users.findByEmail(user.email), "UserNotFound")
        yield* expectFailure(users.delete(user.id), "UserNotFound")
        // The address is free again.
        const again = yield* users.create({ email: user.email, passwordHash: makeHash() })
        assert.notStrictEqual(again.id, user.id)
      })
    )

    it.effect("list pages through every user exactly once, oldest first", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const mine: ReadonlyArray<User> = yield* Effect.forEach([1, 2, 3, 4, 5, 6, 7], () => newUser("paged"))
        const pages = yield* allPages((cursor) => users.list({ limit: 2, cursor }))
        for (const page of pages.slice(0, -1)) assert.strictEqual(page.length, 2)
        const ids = pages.flat().map((user) => user.id)
        assert.strictEqual(new Set(ids).size, ids.length, "no user twice")
        assert.deepStrictEqual([...ids].sort(), ids, "ordered by id")
        const mineInOrder = ids.filter((id) => mine.some((user) => user.id === id))
        assert.deepStrictEqual(
          mineInOrder,
          mine.map((user) => user.id)
        )
        const defaultPage = yield* users.list()
        assert.isAtMost(defaultPage.items.length, 50)
      })
    )
  })
