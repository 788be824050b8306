import { inspect } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Option, Redacted, Schema } from "effect"
import { TestClock } from "effect/testing"
import {
  AuditLog,
  asSystem,
  CurrentActor,
  hasPermission,
  Permission,
  PermissionName,
  permissionNamesOf,
  Role,
  RoleWithPermissions,
  roleNamesOf,
  User,
  UserId,
  UserWithAccess,
  withActor
} from "../../src/Domain/index.ts"

const hash = "$argon2id$v=19$m=65536,t=3,p=4$U0VDUkVUU0FMVA$VGhpc0lzVGhlSGFzaA"
const createdAt = new Date("2026-01-02T03:04:05.678Z")
const updatedAt = new Date("2026-02-03T04:05:06.789Z")

// A users row as the driver returns it (camelCased by the SQL client).
const userRow = {
  id: "0190a0b0-0000-7000-8000-000000000001",
  email: "ann@example.com",
  passwordHash: hash,
  verified: true,
  createdAt,
  updatedAt
}

const decodeUser = Schema.decodeUnknownSync(User)

describe("User", () => {
  it("decodes a database row", () => {
    const user = decodeUser(userRow)
    assert.instanceOf(user, User)
    assert.strictEqual(user.email, "ann@example.com")
    assert.strictEqual(Redacted.value(user.passwordHash), hash)
    assert.strictEqual(DateTime.formatIso(user.updatedAt), "2026-02-03T04:05:06.789Z")
  })

  it("never shows the password hash in JSON, String(), util.inspect or the json variant", () => {
    const user = decodeUser(userRow)
    const renderings = [
      JSON.stringify(user),
      String(user),
      `${user}`,
      inspect(user, { depth: 10 }),
      inspect({ wrapped: user }, { depth: 10 }),
      String(user.passwordHash),
      JSON.stringify(user.passwordHash),
      inspect(user.passwordHash),
      JSON.stringify(Schema.encodeSync(User.json)(user))
    ]
    for (const rendering of renderings) {
      assert.notInclude(rendering, hash)
      assert.notInclude(rendering, "U0VDUkVUU0FMVA")
    }
    assert.include(String(user), "<redacted>")
  })

  it("keeps the hash out of every json variant", () => {
    assert.notProperty(User.json.fields, "passwordHash")
    assert.notProperty(User.jsonCreate.fields, "passwordHash")
    assert.notProperty(User.jsonUpdate.fields, "passwordHash")
    assert.property(User.insert.fields, "passwordHash")
  })

  it("encodes the hash back to text for the insert statement, without database timestamps", () => {
    const user = decodeUser(userRow)
    const encoded = Schema.encodeSync(User.insert)(User.insert.make({ ...user }))
    assert.deepStrictEqual(encoded, {
      id: userRow.id,
      email: "ann@example.com",
      passwordHash: hash,
      verified: true
    })
    assert.notProperty(User.update.fields, "createdAt")
    assert.notProperty(User.update.fields, "updatedAt")
  })

  it.effect("generates a UUIDv7 id on insert from the Clock", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.UTC(2026, 5, 1))
      const user = decodeUser(userRow)
      const insert = yield* User.insert.makeEffect({
        email: user.email,
        passwordHash: user.passwordHash,
        verified: false
      })
      assert.match(insert.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      assert.strictEqual(Number.parseInt(insert.id.replaceAll("-", "").slice(0, 12), 16), Date.UTC(2026, 5, 1))
    })
  )

  it("json variant writes ISO timestamps", () => {
    const json = Schema.encodeSync(User.json)(decodeUser(userRow))
    assert.deepStrictEqual(json, {
      id: userRow.id,
      email: "ann@example.com",
      verified: true,
      createdAt: "2026-01-02T03:04:05.678Z",
      updatedAt: "2026-02-03T04:05:06.789Z"
    })
  })

  it("jsonCreate accepts only what a client may set and normalises the email", () => {
    const input = Schema.decodeUnknownSync(User.jsonCreate)({ email: " Ann@Example.com " })
    assert.deepStrictEqual(input, { email: "ann@example.com" })
    assert.deepStrictEqual(Object.keys(User.jsonCreate.fields), ["email"])
  })
})

describe("Role and Permission", () => {
  const roleRow = { id: "0190a0b0-0000-7000-8000-000000000002", name: "admin", description: "", createdAt }

  it("decode rows and default the description to empty when creating", () => {
    const role = Schema.decodeUnknownSync(Role)(roleRow)
    assert.strictEqual(role.name, "admin")
    assert.strictEqual(Schema.decodeUnknownSync(Role.jsonCreate)({ name: "auditor" }).description, "")
    const permissionInsert = Permission.insert.make({ name: PermissionName.make("iam.users.read") })
    assert.strictEqual(permissionInsert.description, "")
    assert.notProperty(Permission.insert.fields, "createdAt")
  })

  it("reject rows that break the value rules", () => {
    assert.throws(() => Schema.decodeUnknownSync(Role)({ ...roleRow, name: "Admin" }))
    assert.throws(() =>
      Schema.decodeUnknownSync(Permission)({ ...roleRow, name: "iam.users", description: "x".repeat(1001) })
    )
  })
})

describe("AuditLog", () => {
  const row = {
    id: "0190a0b0-0000-7000-8000-000000000003",
    actorId: null,
    action: "user.created",
    targetId: "0190a0b0-0000-7000-8000-000000000001",
    metadata: { ip: "10.0.0.1", attempts: 2 },
    timestamp: createdAt
  }

  it("decodes a row with jsonb already parsed and a null actor as None", () => {
    const log = Schema.decodeUnknownSync(AuditLog)(row)
    assert.isTrue(Option.isNone(log.actorId))
    assert.deepStrictEqual(log.targetId, Option.some(row.targetId))
    assert.deepStrictEqual(log.metadata, { ip: "10.0.0.1", attempts: 2 })
  })

  it.effect("encodes metadata as JSON text for insert, and omits the database timestamp", () =>
    Effect.gen(function* () {
      const insert = yield* AuditLog.insert.makeEffect({
        actorId: Option.some(UserId.make(row.targetId)),
        action: Schema.decodeUnknownSync(AuditLog.fields.action)("user.created"),
        targetId: Option.none(),
        metadata: { ip: "10.0.0.1" }
      })
      const encoded = yield* Schema.encodeEffect(AuditLog.insert)(insert)
      assert.strictEqual(encoded.metadata, '{"ip":"10.0.0.1"}')
      assert.strictEqual(encoded.actorId, row.targetId)
      assert.isNull(encoded.targetId)
      assert.notProperty(encoded, "timestamp")
    })
  )

  it.effect("defaults insert metadata to an empty object", () =>
    Effect.gen(function* () {
      const insert = yield* AuditLog.insert.makeEffect({
        actorId: Option.none(),
        action: Schema.decodeUnknownSync(AuditLog.fields.action)("system.started"),
        targetId: Option.none()
      })
      assert.deepStrictEqual(insert.metadata, {})
      assert.strictEqual((yield* Schema.encodeEffect(AuditLog.insert)(insert)).metadata, "{}")
    })
  )
})

describe("UserWithAccess", () => {
  const user = decodeUser(userRow)
  const read = Schema.decodeUnknownSync(Permission)({
    id: "0190a0b0-0000-7000-8000-000000000010",
    name: "iam.users.read",
    description: "",
    createdAt
  })
  const write = Schema.decodeUnknownSync(Permission)({
    id: "0190a0b0-0000-7000-8000-000000000011",
    name: "iam.users.write",
    description: "",
    createdAt
  })
  const role = (id: string, name: string) => Schema.decodeUnknownSync(Role)({ id, name, description: "", createdAt })
  const access = new UserWithAccess({
    user,
    roles: [
      new RoleWithPermissions({ role: role("0190a0b0-0000-7000-8000-000000000020", "viewer"), permissions: [read] }),
      new RoleWithPermissions({
        role: role("0190a0b0-0000-7000-8000-000000000021", "editor"),
        permissions: [read, write]
      })
    ]
  })

  it("answers role and permission questions", () => {
    assert.deepStrictEqual([...roleNamesOf(access)], ["viewer", "editor"])
    assert.deepStrictEqual([...permissionNamesOf(access)], ["iam.users.read", "iam.users.write"])
    assert.isTrue(hasPermission(access, PermissionName.make("iam.users.write")))
    assert.isFalse(hasPermission(access, PermissionName.make("iam.roles.write")))
  })

  it("has a JSON shape without the password hash", () => {
    const json = Schema.encodeSync(UserWithAccess.json)(access)
    const text = JSON.stringify(json)
    assert.notInclude(text, hash)
    assert.notProperty(json.user, "passwordHash")
    assert.strictEqual(json.roles[1]?.permissions[1]?.name, "iam.users.write")
    assert.notInclude(JSON.stringify(access), hash)
    assert.notInclude(String(access), hash)
    assert.notInclude(inspect(access, { depth: 10 }), hash)
  })
})

describe("CurrentActor", () => {
  const actor = UserId.make("0190a0b0-0000-7000-8000-000000000001")

  it.effect("is None (the system) unless provided", () =>
    Effect.gen(function* () {
      assert.isTrue(Option.isNone(yield* CurrentActor))
      assert.deepStrictEqual(yield* withActor(actor)(Effect.service(CurrentActor)), Option.some(actor))
      // The innermost provision wins, so asSystem inside a request scope drops back to the system.
      assert.isTrue(Option.isNone(yield* withActor(actor)(asSystem(Effect.service(CurrentActor)))))
    })
  )
})
