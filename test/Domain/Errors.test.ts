import { inspect } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted, Schema } from "effect"
import {
  AuditLogId,
  AuditLogNotFound,
  DatabaseUnavailable,
  decodeInput,
  EmailAlreadyTaken,
  InvalidInput,
  invalidInputFromIssue,
  PasswordHash,
  PermissionId,
  PermissionNameTaken,
  PermissionNotFound,
  RoleId,
  RoleNameTaken,
  RoleNotFound,
  User,
  UserId,
  UserNotFound
} from "../../src/Domain/index.ts"

const hash = "$2b$12$S3cr3tS4ltS3cr3tS4ltS3uF0oBaRbAzQuXhashhashhashhas"

describe("errors", () => {
  const userId = UserId.make("0190a0b0-0000-7000-8000-000000000001")

  const samples = [
    [new UserNotFound({ id: userId }), "User 0190a0b0-0000-7000-8000-000000000001 was not found"],
    [new UserNotFound({ email: "ann@example.com" }), "No user has the e-mail address ann@example.com"],
    [
      new RoleNotFound({ id: RoleId.make("0190a0b0-0000-7000-8000-000000000002") }),
      "Role 0190a0b0-0000-7000-8000-000000000002 was not found"
    ],
    [new RoleNotFound({ name: "admin" }), 'Role "admin" was not found'],
    [
      new PermissionNotFound({ id: PermissionId.make("0190a0b0-0000-7000-8000-000000000003") }),
      "Permission 0190a0b0-0000-7000-8000-000000000003 was not found"
    ],
    [new PermissionNotFound({ name: "iam.users.read" }), 'Permission "iam.users.read" was not found'],
    [
      new AuditLogNotFound({ id: AuditLogId.make("0190a0b0-0000-7000-8000-000000000004") }),
      "Audit log entry 0190a0b0-0000-7000-8000-000000000004 was not found"
    ],
    [new EmailAlreadyTaken({ email: "ann@example.com" }), "The e-mail address ann@example.com is already taken"],
    [new RoleNameTaken({ name: "admin" }), 'A role named "admin" already exists'],
    [new PermissionNameTaken({ name: "iam.users.read" }), 'A permission named "iam.users.read" already exists'],
    [InvalidInput.fromRule("email", "must be a valid e-mail address"), "Invalid email: must be a valid e-mail address"],
    [
      new DatabaseUnavailable({ operation: "Users.findById", reason: "connection lost" }),
      "The database is unavailable (Users.findById): connection lost"
    ]
  ] as const

  it("have readable messages and tags", () => {
    for (const [error, message] of samples) {
      assert.instanceOf(error, Error)
      assert.strictEqual(error.message, message)
      assert.include(String(error), message)
    }
  })

  it("carry what was looked up", () => {
    assert.strictEqual(new UserNotFound({ email: "ann@example.com" }).email, "ann@example.com")
    assert.strictEqual(new RoleNameTaken({ name: "admin" }).name, "admin")
    const invalid = InvalidInput.fromRule("email", "must be a valid e-mail address")
    assert.deepStrictEqual([invalid.field, invalid.rule], ["email", "must be a valid e-mail address"])
  })

  it("DatabaseUnavailable is retryable", () => {
    assert.isTrue(new DatabaseUnavailable({ operation: "x", reason: "timeout" }).isRetryable)
  })

  it.effect("are typed failures that can be caught by tag", () =>
    Effect.gen(function* () {
      const recovered = yield* Effect.fail(new RoleNameTaken({ name: "admin" })).pipe(
        Effect.catchTag("RoleNameTaken", (error) => Effect.succeed(error.name))
      )
      assert.strictEqual(recovered, "admin")
    })
  )
})

describe("the password hash never reaches an error", () => {
  const userRow = {
    id: "0190a0b0-0000-7000-8000-000000000001",
    email: "ann@example.com",
    passwordHash: hash,
    verified: false,
    createdAt: new Date(0),
    updatedAt: new Date(0)
  }

  const rendered = (error: unknown): ReadonlyArray<string> => [
    String(error),
    error instanceof Error ? error.message : "",
    JSON.stringify(error),
    inspect(error, { depth: 10 })
  ]

  it.effect("when another field of a row is invalid", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(decodeInput(User)({ ...userRow, email: "broken" }))
      assert.strictEqual(error.field, "email")
      for (const text of rendered(error)) assert.notInclude(text, hash)
    })
  )

  it.effect("when the hash itself is invalid", () =>
    Effect.gen(function* () {
      const tooLong = hash.repeat(30)
      const error = yield* Effect.flip(decodeInput(User.insert)({ ...userRow, passwordHash: tooLong }))
      assert.strictEqual(error.field, "passwordHash")
      assert.strictEqual(error.rule, "must be at most 1024 characters")
      for (const text of rendered(error)) assert.notInclude(text, hash)

      const raw = Schema.decodeUnknownExit(PasswordHash)(tooLong)
      assert.notInclude(String(raw), hash)
    })
  )

  it.effect("when a Redacted hash fails a rule at construction", () =>
    Effect.gen(function* () {
      const issue = yield* Effect.flip(PasswordHash.makeEffect(Redacted.make(hash.repeat(30))))
      // Schema.Redacted hides the inner rule too: the issue only says the wrapped value is invalid.
      const error = invalidInputFromIssue(issue, "passwordHash")
      for (const text of [...rendered(error), String(issue)]) assert.notInclude(text, hash)
    })
  )

  it("in any error constructed next to a user", () => {
    const errors = [
      new UserNotFound({ id: UserId.make(userRow.id) }),
      new EmailAlreadyTaken({ email: userRow.email }),
      new DatabaseUnavailable({ operation: "Users.insert", reason: "connection lost" }),
      InvalidInput.fromRule("passwordHash", "must not be blank")
    ]
    for (const error of errors) for (const text of rendered(error)) assert.notInclude(text, hash)
  })
})
