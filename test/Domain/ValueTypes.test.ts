import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Redacted, Schema } from "effect"
import {
  AuditAction,
  AuditMetadata,
  AuditMetadataMaxBytes,
  AuditTargetId,
  decodeInput,
  Email,
  jsonByteLength,
  makePermissionName,
  PasswordHash,
  PermissionName,
  parsePermissionName,
  passwordHashFromText,
  permissionNameParts,
  RoleDescription,
  RoleName
} from "../../src/Domain/index.ts"

const decodes = (schema: Schema.ConstraintDecoder<unknown>, input: unknown): boolean =>
  Exit.isSuccess(Schema.decodeUnknownExit(schema)(input))

describe("Email", () => {
  const decodeEmail = Schema.decodeUnknownSync(Email)

  it("trims and lower-cases before validating", () => {
    assert.strictEqual(decodeEmail("  Ann.Lee+Tag@Example.COM \n"), "ann.lee+tag@example.com")
  })

  it("accepts ordinary addresses", () => {
    for (const email of ["a@b.co", "first.last@sub.example.org", "x_y-z@mail-host.io", "o'neil@xn--bcher-kva.de"]) {
      assert.isTrue(decodes(Email, email), email)
    }
  })

  it("rejects malformed addresses", () => {
    const invalid = [
      "",
      "   ",
      "plain",
      "@example.com",
      "ann@",
      "ann@@example.com",
      "ann@example",
      "ann@example.123",
      "ann@10.0.0.1",
      "ann@-example.com",
      "ann@example-.com",
      "ann@exa_mple.com",
      "ann@example..com",
      ".ann@example.com",
      "ann.@example.com",
      "an..n@example.com",
      "an n@example.com",
      "ann@exa mple.com",
      "ann\t@example.com",
      "ann@example.com.",
      `${"a".repeat(65)}@example.com`,
      42,
      null
    ]
    for (const email of invalid) assert.isFalse(decodes(Email, email), JSON.stringify(email))
  })

  it("allows a local part of 64 characters and a total of 254, not more", () => {
    assert.isTrue(decodes(Email, `${"a".repeat(64)}@example.com`))
    // Domain labels are at most 63 characters, so a long address needs several.
    const domain = `${"d".repeat(63)}.${"d".repeat(63)}.${"d".repeat(61)}.com`
    const at254 = `${"a".repeat(60)}@${domain}`
    const at255 = `${"a".repeat(61)}@${domain}`
    assert.strictEqual(at254.length, 254)
    assert.strictEqual(at255.length, 255)
    assert.isTrue(decodes(Email, at254))
    assert.isFalse(decodes(Email, at255))
  })

  it("measures the length after trimming", () => {
    const at254 = `${"a".repeat(60)}@${"d".repeat(63)}.${"d".repeat(63)}.${"d".repeat(61)}.com`
    assert.strictEqual(at254.length, 254)
    assert.isTrue(decodes(Email, `   ${at254}   `))
  })

  it("names the rule that failed", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(decodeInput(Email, "email")("not an address"))
      assert.strictEqual(error.field, "email")
      assert.strictEqual(error.rule, "must be a valid e-mail address")
    }).pipe(Effect.runPromise))
})

describe("RoleName", () => {
  it("follows ^[a-z][a-z0-9_-]{0,63}$", () => {
    for (const name of ["a", "admin", "support-agent", "tier_2", `r${"x".repeat(63)}`]) {
      assert.isTrue(decodes(RoleName, name), name)
    }
    for (const name of ["", "Admin", "1st", "_x", "-x", "with space", "dots.no", `r${"x".repeat(64)}`, "é"]) {
      assert.isFalse(decodes(RoleName, name), name)
    }
  })
})

describe("PermissionName", () => {
  it("accepts module.resource.action with segments [a-z][a-z0-9_]*", () => {
    for (const name of ["iam.users.read", "billing.invoice_items.refund_2", "a.b.c"]) {
      assert.isTrue(decodes(PermissionName, name), name)
    }
  })

  it("rejects other shapes", () => {
    const invalid = [
      "",
      "iam.users",
      "iam.users.read.all",
      "IAM.users.read",
      "iam..read",
      "iam.users.",
      ".iam.users",
      "iam.1users.read",
      "iam.users-x.read",
      "iam.users.read ",
      "iam._users.read"
    ]
    for (const name of invalid) assert.isFalse(decodes(PermissionName, name), name)
  })

  it("is at most 191 characters", () => {
    const of = (length: number) => `m.r.${"a".repeat(length - 4)}`
    assert.isTrue(decodes(PermissionName, of(191)))
    assert.isFalse(decodes(PermissionName, of(192)))
  })

  it("splits into its parts", () => {
    const name = PermissionName.make("iam.users.read")
    assert.deepStrictEqual(permissionNameParts(name), { module: "iam", resource: "users", action: "read" })
  })

  it.effect("parses untrusted input into parts, or fails naming the field", () =>
    Effect.gen(function* () {
      const parts = yield* parsePermissionName("billing.invoices.refund")
      assert.deepStrictEqual(parts, { module: "billing", resource: "invoices", action: "refund" })
      const error = yield* Effect.flip(parsePermissionName("billing.invoices"))
      assert.strictEqual(error._tag, "InvalidInput")
      assert.strictEqual(error.field, "name")
      assert.include(error.rule, "module.resource.action")
    })
  )

  it.effect("is built from parts, with validation", () =>
    Effect.gen(function* () {
      const name = yield* makePermissionName({ module: "iam", resource: "roles", action: "assign" })
      assert.strictEqual(name, "iam.roles.assign")
      const error = yield* Effect.flip(makePermissionName({ module: "iam", resource: "Roles", action: "assign" }))
      assert.strictEqual(error.field, "name")
    })
  )
})

describe("AuditAction", () => {
  it("follows the SQL check and is at most 128 characters", () => {
    for (const action of ["login", "user.created", "iam.role.permission_granted", "a1.b2"]) {
      assert.isTrue(decodes(AuditAction, action), action)
    }
    for (const action of ["", "User.created", "user..created", "user.", ".user", "user.2fa", "user-created", "a b"]) {
      assert.isFalse(decodes(AuditAction, action), action)
    }
    assert.isTrue(decodes(AuditAction, "a".repeat(128)))
    assert.isFalse(decodes(AuditAction, "a".repeat(129)))
  })
})

describe("AuditTargetId", () => {
  it("is non-blank and bounded", () => {
    assert.isTrue(decodes(AuditTargetId, "0190a0b0-0000-7000-8000-000000000000"))
    assert.isFalse(decodes(AuditTargetId, ""))
    assert.isFalse(decodes(AuditTargetId, "  "))
    assert.isFalse(decodes(AuditTargetId, "x".repeat(257)))
  })
})

describe("AuditMetadata", () => {
  // `{"k":"…"}` is 8 bytes of JSON around the value.
  const ofSize = (bytes: number) => ({ k: "x".repeat(bytes - 8) })

  it("accepts JSON objects up to the limit, inclusive", () => {
    assert.strictEqual(AuditMetadataMaxBytes, 16384)
    assert.isTrue(decodes(AuditMetadata, {}))
    assert.isTrue(decodes(AuditMetadata, { ip: "10.0.0.1", attempts: 3, tags: ["a", null, true], nested: { ok: 1 } }))
    assert.strictEqual(jsonByteLength(ofSize(AuditMetadataMaxBytes)), AuditMetadataMaxBytes)
    assert.isTrue(decodes(AuditMetadata, ofSize(AuditMetadataMaxBytes)))
    assert.isFalse(decodes(AuditMetadata, ofSize(AuditMetadataMaxBytes + 1)))
  })

  it("counts UTF-8 bytes, not characters", () => {
    // "é" is 2 bytes in UTF-8: half as many characters reach the same byte size.
    const bytes = AuditMetadataMaxBytes - 8
    assert.isTrue(decodes(AuditMetadata, { k: "é".repeat(bytes / 2) }))
    assert.isFalse(decodes(AuditMetadata, { k: "é".repeat(bytes / 2 + 1) }))
  })

  it("rejects non-objects and non-JSON values", () => {
    for (const value of [null, [], [{ a: 1 }], "text", 1, true, undefined]) {
      assert.isFalse(decodes(AuditMetadata, value), String(value))
    }
    for (const value of [{ n: Number.NaN }, { i: Number.POSITIVE_INFINITY }, { d: new Date() }, { u: undefined }]) {
      assert.isFalse(decodes(AuditMetadata, value))
    }
  })

  it.effect("says what a JSON object is when given something else", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(decodeInput(AuditMetadata, "metadata")([1, 2]))
      assert.strictEqual(error.field, "metadata")
      assert.strictEqual(error.rule, "must be a JSON object")
      const tooBig = yield* Effect.flip(decodeInput(AuditMetadata, "metadata")(ofSize(AuditMetadataMaxBytes + 1)))
      assert.strictEqual(tooBig.rule, "must encode to at most 16384 bytes of JSON")
    })
  )
})

describe("descriptions", () => {
  it("are at most 1000 characters, empty allowed", () => {
    assert.isTrue(decodes(RoleDescription, ""))
    assert.isTrue(decodes(RoleDescription, "d".repeat(1000)))
    assert.isFalse(decodes(RoleDescription, "d".repeat(1001)))
  })
})

describe("PasswordHash", () => {
  const hash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"

  it("decodes stored text into a Redacted value and encodes it back", () => {
    const decoded = Schema.decodeUnknownSync(PasswordHash)(hash)
    assert.isTrue(Redacted.isRedacted(decoded))
    assert.strictEqual(Redacted.value(decoded), hash)
    assert.strictEqual(Schema.encodeSync(PasswordHash)(decoded), hash)
  })

  it.effect("wraps hash text, or fails naming passwordHash", () =>
    Effect.gen(function* () {
      assert.strictEqual(Redacted.value(yield* passwordHashFromText(hash)), hash)
      assert.strictEqual(Redacted.value(PasswordHash.make(Redacted.make(hash))), hash)
      const error = yield* Effect.flip(passwordHashFromText("  "))
      assert.deepStrictEqual([error.field, error.rule], ["passwordHash", "must not be blank"])
    })
  )

  it("is non-blank and at most 1024 characters", () => {
    assert.isFalse(decodes(PasswordHash, ""))
    assert.isFalse(decodes(PasswordHash, " \t "))
    assert.isTrue(decodes(PasswordHash, "h".repeat(1024)))
    assert.isFalse(decodes(PasswordHash, "h".repeat(1025)))
  })
})
