import { assert, describe } from "@effect/vitest"
import { DateTime, Effect, Option } from "effect"
import { AuditLogRepository } from "../../src/Database/Repositories/AuditLogRepository.ts"
import { PermissionRepository } from "../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../src/Database/Repositories/RoleRepository.ts"
import { UserRepository } from "../../src/Database/Repositories/UserRepository.ts"
import { type AuditLog, AuditLogId, asSystem, RoleId, type UserId, withActor } from "../../src/Domain/index.ts"
import { expectFailure, expectInvalid } from "../support/Expect.ts"
import {
  allPages,
  auditActionsFor,
  auditLogs,
  type ContractIt,
  makeHash,
  newPermission,
  newRole,
  newUser,
  unique,
  uniqueEmail
} from "./Fixtures.ts"

const missingAuditLogId = AuditLogId.make("00000000-0000-7000-8000-000000000006")
const missingRoleId = RoleId.make("00000000-0000-7000-8000-000000000007")

const newUserWith = (email: string) => UserRepository.use((users) => users.create({ email, passwordHash: makeHash() }))

const only = (logs: ReadonlyArray<AuditLog>, action: string): AuditLog => {
  const matching = logs.filter((log) => log.action === action)
  assert.strictEqual(matching.length, 1, `exactly one ${action}`)
  return matching[0]!
}

export const auditContract = (it: ContractIt) =>
  describe("AuditLogRepository", () => {
    it.effect("append stores an entry; findById returns it", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLogRepository
        const actor = yield* newUser()
        const target = unique()
        const log = yield* audit.append({
          action: "billing.invoice.sent",
          targetId: target,
          metadata: { invoice: 42, lines: ["a", "b"], nested: { ok: true, none: null } },
          actorId: actor.id
        })
        assert.strictEqual(log.action, "billing.invoice.sent")
        assert.deepStrictEqual(log.targetId, Option.some(target))
        assert.deepStrictEqual(log.actorId, Option.some(actor.id))
        assert.deepStrictEqual(log.metadata, { invoice: 42, lines: ["a", "b"], nested: { ok: true, none: null } })
        assert.isTrue(DateTime.isDateTime(log.timestamp))
        const found = yield* audit.findById(log.id)
        assert.strictEqual(found.id, log.id)
        assert.deepStrictEqual(found.metadata, log.metadata)
        assert.strictEqual(DateTime.toEpochMillis(found.timestamp), DateTime.toEpochMillis(log.timestamp))

        const bare = yield* asSystem(audit.append({ action: "system.started" }))
        assert.isTrue(Option.isNone(bare.targetId))
        assert.isTrue(Option.isNone(bare.actorId))
        assert.deepStrictEqual(bare.metadata, {})
      })
    )

    it.effect("the actor defaults to CurrentActor; an explicit actorId (or null for the system) wins", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLogRepository
        const actor = yield* newUser()
        const other = yield* newUser()
        const fromContext = yield* withActor(actor.id)(audit.append({ action: "test.actor" }))
        assert.deepStrictEqual(fromContext.actorId, Option.some(actor.id))
        const explicit = yield* withActor(actor.id)(audit.append({ action: "test.actor", actorId: other.id }))
        assert.deepStrictEqual(explicit.actorId, Option.some(other.id))
        const system = yield* withActor(actor.id)(audit.append({ action: "test.actor", actorId: null }))
        assert.isTrue(Option.isNone(system.actorId))
        const none = yield* audit.append({ action: "test.actor" })
        assert.isTrue(Option.isNone(none.actorId))
      })
    )

    it.effect("invalid actions, targets, actors and metadata are rejected on their field; nothing is written", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLogRepository
        const targetId = unique()
        for (const action of [
          "",
          "User.Created",
          "user..created",
          "user.",
          ".user",
          "user created",
          `a${"b".repeat(128)}`
        ]) {
          yield* expectInvalid(audit.append({ action, targetId }), "action")
        }
        yield* expectInvalid(
          audit.append({ action: "test.big", targetId, metadata: { blob: "x".repeat(17 * 1024) } }),
          "metadata"
        )
        yield* expectInvalid(
          audit.append({ action: "test.array", targetId, metadata: [1, 2] as unknown as Record<string, unknown> }),
          "metadata"
        )
        yield* expectInvalid(audit.append({ action: "test.blank", targetId: "   " }), "targetId")
        yield* expectInvalid(audit.append({ action: "test.long", targetId: "x".repeat(257) }), "targetId")
        yield* expectInvalid(audit.append({ action: "test.actor", targetId, actorId: "nope" as UserId }), "actorId")
        assert.deepStrictEqual(yield* auditLogs({ targetId }), [])
      })
    )

    it.effect("appendMany writes all entries in order, or none when any is invalid", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLogRepository
        const targetId = unique()
        assert.deepStrictEqual(yield* audit.appendMany([]), [])
        const error = yield* expectInvalid(
          audit.appendMany([
            { action: "test.batch", targetId },
            { action: "Not Valid", targetId },
            { action: "test.batch", targetId }
          ]),
          "entries[1].action"
        )
        assert.include(error.message, "entries[1].action")
        yield* expectInvalid(
          audit.appendMany([
            { action: "test.batch", targetId },
            { action: "test.batch", targetId, metadata: { blob: "x".repeat(17 * 1024) } }
          ]),
          "entries[1].metadata"
        )
        assert.deepStrictEqual(yield* auditLogs({ targetId }), [])

        const logs = yield* audit.appendMany(
          [1, 2, 3, 4, 5].map((n) => ({ action: "test.batch", targetId, metadata: { n } }))
        )
        assert.deepStrictEqual(
          logs.map((log) => log.metadata.n),
          [1, 2, 3, 4, 5]
        )
        const listed = yield* auditLogs({ targetId })
        assert.deepStrictEqual(
          listed.map((log) => log.id),
          logs.map((log) => log.id).reverse()
        )
      })
    )

    it.effect("findById fails with AuditLogNotFound for an unknown id", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLogRepository
        const error = yield* expectFailure(audit.findById(missingAuditLogId), "AuditLogNotFound")
        assert.strictEqual(error.id, missingAuditLogId)
      })
    )

    it.effect("offers no way to change or remove a record", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLogRepository
        assert.sameMembers(Object.keys(audit).sort(), ["append", "appendMany", "findById", "list", "stream"])
      })
    )

    it.effect("list filters by actor, target, action and time range, newest first, and pages exactly once", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLogRepository
        const actor = yield* newUser()
        const targetId = unique()
        const action = `test.${unique()}`
        const created: Array<AuditLog> = []
        for (const n of [1, 2, 3, 4, 5, 6, 7]) {
          created.push(yield* audit.append({ action: n % 2 === 0 ? action : "test.other", targetId, metadata: { n } }))
        }
        created.push(yield* withActor(actor.id)(audit.append({ action, targetId, metadata: { n: 8 } })))
        const newestFirst = created.map((log) => log.id).reverse()

        const pages = yield* allPages((cursor) => audit.list({ targetId, limit: 3, cursor }))
        assert.deepStrictEqual(
          pages.map((page) => page.length),
          [3, 3, 2]
        )
        assert.deepStrictEqual(
          pages.flat().map((log) => log.id),
          newestFirst
        )

        const byAction = yield* auditLogs({ targetId, action })
        assert.deepStrictEqual(
          byAction.map((log) => log.metadata.n),
          [8, 6, 4, 2]
        )
        const byActor = yield* auditLogs({ actorId: actor.id })
        assert.deepStrictEqual(
          byActor.map((log) => log.metadata.n),
          [8]
        )
        assert.deepStrictEqual(yield* auditLogs({ targetId, action: "test.none" }), [])

        // `from` is inclusive and `to` exclusive, at millisecond precision.
        const first = created[0]!.timestamp
        const last = created.at(-1)!.timestamp
        const afterLast = DateTime.add(last, { milliseconds: 1 })
        assert.strictEqual((yield* auditLogs({ targetId, from: first })).length, 8)
        assert.strictEqual((yield* auditLogs({ targetId, to: afterLast })).length, 8)
        assert.strictEqual((yield* auditLogs({ targetId, to: first })).length, 0)
        assert.strictEqual((yield* auditLogs({ targetId, from: afterLast })).length, 0)
        assert.strictEqual((yield* auditLogs({ targetId, from: first, to: afterLast, action })).length, 4)
      })
    )

    it.effect("list rejects a tampered cursor, a bad limit and bad filters with InvalidInput", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLogRepository
        const users = yield* UserRepository
        const roles = yield* RoleRepository
        const permissions = yield* PermissionRepository
        for (const cursor of ["", "garbage", "eyJub3QiOiJhIGN1cnNvciJ9", "!!!"]) {
          yield* expectInvalid(audit.list({ cursor }), "cursor")
          yield* expectInvalid(users.list({ cursor }), "cursor")
          yield* expectInvalid(roles.list({ cursor }), "cursor")
          yield* expectInvalid(permissions.list({ cursor }), "cursor")
        }
        yield* newUser()
        yield* newUser()
        const page = yield* users.list({ limit: 1 })
        const cursor = Option.getOrThrow(page.nextCursor)
        yield* expectInvalid(users.list({ cursor: cursor.slice(0, -4) }), "cursor")
        yield* expectInvalid(audit.list({ cursor }), "cursor")
        for (const limit of [0, -1, 501, 1.5]) {
          yield* expectInvalid(users.list({ limit }), "limit")
          yield* expectInvalid(audit.list({ limit }), "limit")
        }
        yield* expectInvalid(audit.list({ action: "Bad Action" }), "action")
        yield* expectInvalid(audit.list({ actorId: "nope" as UserId }), "actorId")
      })
    )

    it.effect("each security change is recorded with its action, actor, target and context", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const roles = yield* RoleRepository
        const permissions = yield* PermissionRepository
        const admin = yield* newUser("admin")
        const act = withActor(admin.id)

        const email = uniqueEmail()
        const user = yield* act(newUserWith(email))
        const role = yield* act(newRole())
        const permission = yield* act(newPermission())
        yield* act(users.assignRole(user.id, role.id))
        yield* act(roles.grant(role.id, permission.id))
        yield* act(roles.revoke(role.id, permission.id))
        yield* act(users.removeRole(user.id, role.id))
        yield* act(users.delete(user.id))
        yield* act(roles.delete(role.id))
        yield* act(permissions.delete(permission.id))

        const userLogs = yield* auditLogs({ targetId: user.id })
        assert.deepStrictEqual(
          userLogs.map((log) => log.action),
          ["user.deleted", "user.role_removed", "user.role_assigned", "user.created"]
        )
        for (const log of userLogs) assert.deepStrictEqual(log.actorId, Option.some(admin.id))
        assert.strictEqual(only(userLogs, "user.created").metadata.email, email)
        assert.strictEqual(only(userLogs, "user.deleted").metadata.email, email)
        const assigned = only(userLogs, "user.role_assigned").metadata
        assert.strictEqual(assigned.roleId, role.id)
        assert.strictEqual(assigned.roleName, role.name)
        assert.strictEqual(only(userLogs, "user.role_removed").metadata.roleId, role.id)

        const roleLogs = yield* auditLogs({ targetId: role.id })
        assert.deepStrictEqual(
          roleLogs.map((log) => log.action),
          ["role.deleted", "role.permission_revoked", "role.permission_granted", "role.created"]
        )
        for (const log of roleLogs) assert.deepStrictEqual(log.actorId, Option.some(admin.id))
        const granted = only(roleLogs, "role.permission_granted").metadata
        assert.strictEqual(granted.permissionId, permission.id)
        assert.strictEqual(granted.permissionName, permission.name)
        assert.strictEqual(only(roleLogs, "role.permission_revoked").metadata.permissionName, permission.name)
        assert.strictEqual(only(roleLogs, "role.deleted").metadata.name, role.name)
        assert.deepStrictEqual(only(roleLogs, "role.created").metadata, { name: role.name, description: "" })

        const permissionLogs = yield* auditLogs({ targetId: permission.id })
        assert.deepStrictEqual(
          permissionLogs.map((log) => log.action),
          ["permission.deleted", "permission.created"]
        )
        for (const log of permissionLogs) assert.deepStrictEqual(log.metadata.name, permission.name)
        for (const log of permissionLogs) assert.deepStrictEqual(log.actorId, Option.some(admin.id))

        // Without an actor, the system did it.
        const systemUser = yield* newUser()
        const [created] = yield* auditLogs({ targetId: systemUser.id })
        assert.isTrue(Option.isNone(created!.actorId))
      })
    )

    it.effect("idempotent no-ops and failed changes record nothing", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const roles = yield* RoleRepository
        const user = yield* newUser()
        const role = yield* newRole()
        const permission = yield* newPermission()
        yield* users.removeRole(user.id, role.id)
        yield* roles.revoke(role.id, permission.id)
        yield* users.assignRole(user.id, role.id)
        yield* users.assignRole(user.id, role.id)
        yield* roles.grant(role.id, permission.id)
        yield* roles.grant(role.id, permission.id)
        yield* expectFailure(users.create({ email: user.email, passwordHash: user.passwordHash }), "EmailAlreadyTaken")
        yield* expectFailure(users.assignRole(user.id, missingRoleId), "RoleNotFound")
        yield* expectFailure(roles.create({ name: role.name }), "RoleNameTaken")
        assert.deepStrictEqual(yield* auditActionsFor(user.id), ["user.role_assigned", "user.created"])
        assert.deepStrictEqual(yield* auditActionsFor(role.id), ["role.permission_granted", "role.created"])
        assert.deepStrictEqual(yield* auditActionsFor(permission.id), ["permission.created"])
      })
    )
  })
