import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import {
  AuditLog,
  decodeCheckedInput,
  decodeInput,
  Email,
  formatFieldPath,
  InvalidInput,
  invalidInputFromIssue,
  invalidInputFromSchemaError,
  PermissionName,
  RoleName,
  User
} from "../../src/Domain/index.ts"

describe("InvalidInput from schema failures", () => {
  it.effect("names the failing field of a struct", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(decodeInput(User.jsonCreate)({ email: "nope" }))
      assert.instanceOf(error, InvalidInput)
      assert.strictEqual(error.field, "email")
      assert.strictEqual(error.rule, "must be a valid e-mail address")
      assert.strictEqual(error.message, "Invalid email: must be a valid e-mail address")
    })
  )

  it.effect("names the full path of a bad nested field", () =>
    Effect.gen(function* () {
      const Request = Schema.Struct({
        owner: Schema.Struct({ email: Email }),
        roles: Schema.Array(Schema.Struct({ name: RoleName }))
      })
      const decode = decodeInput(Request)

      const badEmail = yield* Effect.flip(decode({ owner: { email: "x@" }, roles: [] }))
      assert.strictEqual(badEmail.field, "owner.email")

      const badRole = yield* Effect.flip(
        decode({ owner: { email: "a@b.co" }, roles: [{ name: "ok" }, { name: "Bad" }] })
      )
      assert.strictEqual(badRole.field, "roles[1].name")
      assert.include(badRole.rule, "lowercase letter")
    })
  )

  it.effect("names metadata and the key inside it", () =>
    Effect.gen(function* () {
      const decode = decodeInput(AuditLog.jsonCreate)
      const notObject = yield* Effect.flip(decode({ action: "user.created", metadata: "text" }))
      assert.strictEqual(notObject.field, "metadata")
      const notJson = yield* Effect.flip(decode({ action: "user.created", metadata: { at: { when: new Date() } } }))
      // Schema.Json is a union, so the path stops at the first value no member accepts as a whole.
      assert.strictEqual(notJson.field, "metadata.at")
    })
  )

  it.effect("reports a missing field", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(decodeInput(AuditLog.jsonCreate)({ metadata: {} }))
      assert.strictEqual(error.field, "action")
      assert.strictEqual(error.rule, "Missing key")
    })
  )

  it.effect("uses the fallback name for a failure at the root", () =>
    Effect.gen(function* () {
      const named = yield* Effect.flip(decodeInput(Email, "email")(123))
      assert.strictEqual(named.field, "email")
      const unnamed = yield* Effect.flip(decodeInput(Email)(123))
      assert.strictEqual(unnamed.field, "input")
    })
  )

  it("converts SchemaError and bare issues alike", () => {
    const exit = Schema.decodeUnknownExit(Schema.Struct({ email: Email }))({ email: "bad" })
    assert.isTrue(exit._tag === "Failure")
    try {
      Schema.decodeUnknownSync(Schema.Struct({ email: Email }))({ email: "bad" })
      assert.fail("expected a failure")
    } catch (error) {
      assert.isTrue(Schema.isSchemaError(error))
      if (Schema.isSchemaError(error)) {
        assert.deepStrictEqual(invalidInputFromSchemaError(error), invalidInputFromIssue(error.issue))
        assert.strictEqual(invalidInputFromSchemaError(error).field, "email")
      }
    }
  })

  it("formats paths", () => {
    assert.strictEqual(formatFieldPath([]), "")
    assert.strictEqual(formatFieldPath(["a", 0, "b", 12]), "a[0].b[12]")
    assert.strictEqual(formatFieldPath([{ key: "x" }, { key: 1 }]), "x[1]")
    assert.strictEqual(formatFieldPath(["metadata", "first name", "a\u0000"]), 'metadata["first name"]["a\\u0000"]')
    assert.strictEqual(formatFieldPath(["metadata", "\uD800"]), 'metadata["\\ud800"]')
    assert.strictEqual(formatFieldPath(["metadata", "k".repeat(1 << 20)]), `metadata["${"k".repeat(64)}…"]`)
  })
})

describe("decodeCheckedInput (a checking schema's fast path)", () => {
  const checked = decodeCheckedInput(PermissionName, "permission")
  const decoded = decodeInput(PermissionName, "permission")

  it.effect("answers a valid input as the full decode does", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* checked("iam.users.read"), yield* decoded("iam.users.read"))
    })
  )

  it.effect("fails an invalid input with the full decode's InvalidInput, field and rule", () =>
    Effect.gen(function* () {
      for (const input of ["IAM.users.read", "iam.users", "", 42, null, undefined, `a.b.${"c".repeat(200)}`]) {
        const fast = yield* Effect.flip(checked(input))
        const full = yield* Effect.flip(decoded(input))
        assert.instanceOf(fast, InvalidInput)
        assert.deepStrictEqual(
          { field: fast.field, rule: fast.rule, message: fast.message },
          { field: full.field, rule: full.rule, message: full.message }
        )
      }
    })
  )
})
