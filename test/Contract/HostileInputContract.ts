import { assert, describe } from "@effect/vitest"
import { DateTime, Effect, Exit, Redacted, Stream } from "effect"
import { AuditLogRepository } from "../../src/Database/Repositories/AuditLogRepository.ts"
import { PermissionRepository } from "../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../src/Database/Repositories/RoleRepository.ts"
import { UserRepository } from "../../src/Database/Repositories/UserRepository.ts"
import { expectInvalid } from "../support/Expect.ts"
import {
  auditLogs,
  type ContractIt,
  makeHash,
  newRole,
  newUser,
  unique,
  uniqueEmail,
  uniqueRoleName
} from "./Fixtures.ts"

// The inputs the hostile-input generator found to end in a defect (a 500 for a consumer) or to be stored
// altered, each now a typed InvalidInput naming the field. test/Hostile/ sends generated ones by the thousand.

/** What a typed caller cannot pass, passed anyway (as from JavaScript, or a cast). */
const hostile = <A>(value: unknown): A => value as A

const throwingGetter = (key: string) =>
  Object.defineProperty({}, key, {
    enumerable: true,
    get: () => {
      throw new Error("getter")
    }
  })

const throwingProxy = new Proxy(
  {},
  {
    get: () => {
      throw new Error("trap")
    },
    has: () => {
      throw new Error("trap")
    },
    ownKeys: () => {
      throw new Error("trap")
    }
  }
)

const nested = (depth: number) => {
  let value: Record<string, unknown> = {}
  for (let level = 1; level < depth; level++) value = { a: value }
  return value
}

/** A keyset cursor of the audit trail, forged: `[microseconds since the epoch, id]`. */
const auditCursor = (micros: string) =>
  Buffer.from(JSON.stringify([micros, "0190a0a0-0000-7000-8000-000000000000"])).toString("base64url")

export const hostileInputContract = (it: ContractIt) =>
  describe("hostile input", () => {
    it.effect("an id argument that is not a string is InvalidInput on that argument, in every repository", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const roles = yield* RoleRepository
        const permissions = yield* PermissionRepository
        const audit = yield* AuditLogRepository
        const user = yield* newUser()
        for (const id of [null, ["0190a0a0-0000-7000-8000-000000000000"], 42, throwingProxy]) {
          yield* expectInvalid(users.findById(hostile(id)), "id")
          yield* expectInvalid(users.delete(hostile(id)), "id")
          yield* expectInvalid(users.rolesOf(hostile(id)), "userId")
          yield* expectInvalid(users.hasPermission(hostile(id), "a.b.c"), "userId")
          yield* expectInvalid(roles.findById(hostile(id)), "id")
          yield* expectInvalid(roles.grant(hostile(id), hostile(id)), "roleId")
          yield* expectInvalid(permissions.delete(hostile(id)), "id")
          yield* expectInvalid(audit.findById(hostile(id)), "id")
          yield* expectInvalid(users.assignRole(user.id, hostile(id)), "roleId")
        }
      })
    )

    it.effect("an argument that throws when read is InvalidInput, even for a stream", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const audit = yield* AuditLogRepository
        yield* expectInvalid(users.create(hostile(throwingGetter("email"))), "input")
        yield* expectInvalid(users.create(hostile(throwingProxy)), "input")
        yield* expectInvalid(users.update(hostile(unique()), hostile(throwingGetter("passwordHash"))), "patch")
        yield* expectInvalid(users.list(hostile(throwingProxy)), "request")
        yield* expectInvalid(
          audit.append({ action: "test.hostile", metadata: { inner: throwingGetter("x") } }),
          "metadata.inner.x"
        )
        // The stream used to throw when it was made, before any effect ran.
        yield* expectInvalid(Stream.runCollect(users.stream(hostile(throwingGetter("cursor")))), "request")
        yield* expectInvalid(users.list(hostile(null)), "request")
      })
    )

    it.effect("free text with NUL or an unpaired surrogate is refused, not stored altered", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const roles = yield* RoleRepository
        const audit = yield* AuditLogRepository
        const targetId = unique()
        for (const bad of ["a\u0000b", "a\uD800b", "\uDC00"]) {
          yield* expectInvalid(roles.create({ name: uniqueRoleName(), description: bad }), "description")
          yield* expectInvalid(users.create({ email: uniqueEmail(), passwordHash: Redacted.make(bad) }), "passwordHash")
          yield* expectInvalid(audit.append({ action: "test.hostile", targetId: `${targetId}${bad}` }), "targetId")
          yield* expectInvalid(
            audit.append({ action: "test.hostile", targetId, metadata: { note: bad } }),
            "metadata.note"
          )
          yield* expectInvalid(
            audit.append({ action: "test.hostile", targetId, metadata: { [bad]: 1 } }),
            `metadata[${JSON.stringify(bad)}]`
          )
          yield* expectInvalid(audit.list({ targetId: bad }), "targetId")
        }
        assert.deepStrictEqual(yield* auditLogs({ targetId }), [])
        // A well-formed pair is a character like any other.
        const role = yield* roles.create({ name: uniqueRoleName(), description: "rocket 🚀" })
        assert.strictEqual((yield* roles.findById(role.id)).description, "rocket 🚀")
      })
    )

    it.effect("an e-mail address is lower-cased in its ASCII letters only", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        // The Kelvin sign lower-cases to an ASCII "k": the address would silently become another one.
        yield* expectInvalid(users.create({ email: `\u212A${uniqueEmail()}`, passwordHash: makeHash() }), "email")
        yield* expectInvalid(users.findByEmail(`\u212A${uniqueEmail()}`), "email")
      })
    )

    it.effect("metadata is bounded in depth before it is walked, and copied once before it is checked", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLogRepository
        const deep = yield* expectInvalid(
          audit.append({ action: "test.hostile", metadata: nested(10_000) }),
          `metadata${".a".repeat(32)}`
        )
        assert.include(deep.rule, "32 levels")
        const deepest = yield* audit.append({ action: "test.hostile", metadata: nested(32) })
        assert.deepStrictEqual(deepest.metadata, nested(32))
        const cycle: Record<string, unknown> = {}
        cycle.self = cycle
        yield* expectInvalid(audit.append({ action: "test.hostile", metadata: cycle }), `metadata${".self".repeat(32)}`)
        // A getter that answers a valid value first and another one later: the first is checked and stored.
        let reads = 0
        const flipping = Object.defineProperty({}, "note", {
          enumerable: true,
          get: () => (reads++ === 0 ? "checked" : "\u0000 after the check")
        })
        const log = yield* audit.append({ action: "test.hostile", metadata: flipping })
        assert.deepStrictEqual((yield* audit.findById(log.id)).metadata, { note: "checked" })
        // Read as a record, a Map or a Date would be stored as {}.
        yield* expectInvalid(
          audit.append({ action: "test.hostile", metadata: hostile(new Map([["a", 1]])) }),
          "metadata"
        )
        yield* expectInvalid(audit.append({ action: "test.hostile", metadata: hostile(new Date(0)) }), "metadata")
        // JSON.parse makes "__proto__" a member like any other; it stays one.
        const proto = JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>
        const kept = yield* audit.append({ action: "test.hostile", metadata: proto })
        assert.deepStrictEqual(Object.keys((yield* audit.findById(kept.id)).metadata), ["__proto__"])
      })
    )

    it.effect("a forged audit cursor is InvalidInput on cursor, whatever it holds", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLogRepository
        // Out of range for bigint, for an interval, for a timestamp.
        for (const micros of ["9999999999999999999", "9223372036854775807", "-300000000000000000"])
          yield* expectInvalid(audit.list({ cursor: auditCursor(micros) }), "cursor")
        yield* expectInvalid(audit.list({ cursor: `${auditCursor("1700000000000000")}!` }), "cursor")
        const page = yield* audit.list({ cursor: auditCursor("1700000000000000"), limit: 1 })
        assert.isAtMost(page.items.length, 1)
      })
    )

    it.effect("filters are bounded before they reach SQL", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLogRepository
        const permissions = yield* PermissionRepository
        const roles = yield* RoleRepository
        const farPast = DateTime.makeUnsafe(-8.64e15)
        yield* expectInvalid(audit.list({ from: farPast }), "from")
        yield* expectInvalid(audit.list({ to: farPast }), "to")
        yield* expectInvalid(Stream.runCollect(audit.stream({ from: farPast })), "from")
        const first = yield* audit.list({ from: DateTime.makeUnsafe(-210_866_803_200_000), limit: 1 })
        assert.isAtMost(first.items.length, 1)
        yield* expectInvalid(permissions.list({ module: "a".repeat(1 << 20) }), "module")
        const many = Array.from({ length: 1001 }, (_, n) => `bulk.p${n}.read`)
        yield* expectInvalid(roles.ensureWithPermissions({ name: uniqueRoleName(), permissions: many }), "permissions")
        const role = yield* newRole()
        const exit = yield* Effect.exit(roles.permissionsOf(role.id))
        assert.isTrue(Exit.isSuccess(exit))
      })
    )
  })
