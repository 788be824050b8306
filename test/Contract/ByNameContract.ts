import { assert, describe } from "@effect/vitest"
import { Effect, Exit, Option, Schema } from "effect"
import { PermissionRepository } from "../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../src/Database/Repositories/RoleRepository.ts"
import { Transactions } from "../../src/Database/Repositories/Transactions.ts"
import { UserRepository } from "../../src/Database/Repositories/UserRepository.ts"
import { UserId, withActor } from "../../src/Domain/index.ts"
import { expectFailure, expectInvalid } from "../support/Expect.ts"
import {
  auditActionsFor,
  auditLogs,
  type ContractIt,
  newPermission,
  newRole,
  newUser,
  unique,
  uniquePermissionName,
  uniqueRoleName
} from "./Fixtures.ts"

const missingUserId = UserId.make("00000000-0000-7000-8000-000000000008")

class Abort extends Schema.TaggedError<Abort>()("Abort", {}) {}

export const byNameContract = (it: ContractIt) =>
  describe("operations by name", () => {
    it.effect("assignRoleByName assigns idempotently and is audited like assignRole", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const admin = yield* newUser("admin")
        const user = yield* newUser()
        const role = yield* newRole()
        yield* withActor(admin.id)(users.assignRoleByName(user.id, role.name))
        yield* users.assignRoleByName(user.id, role.name)
        assert.deepStrictEqual(
          (yield* users.rolesOf(user.id)).map((held) => held.id),
          [role.id]
        )
        const [assigned, ...older] = yield* auditLogs({ targetId: user.id })
        assert.strictEqual(assigned!.action, "user.role_assigned")
        assert.deepStrictEqual(assigned!.metadata, { email: user.email, roleId: role.id, roleName: role.name })
        assert.deepStrictEqual(assigned!.actorId, Option.some(admin.id))
        assert.deepStrictEqual(
          older.map((log) => log.action),
          ["user.created"]
        )
      })
    )

    it.effect("assignRoleByName: unknown names and users fail with NotFound, bad names with InvalidInput", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const user = yield* newUser()
        const role = yield* newRole()
        const name = uniqueRoleName("nobody")
        const unknown = yield* expectFailure(users.assignRoleByName(user.id, name), "RoleNotFound")
        assert.strictEqual(unknown.name, name)
        assert.include(unknown.message, name)
        yield* expectFailure(users.assignRoleByName(missingUserId, role.name), "UserNotFound")
        for (const bad of ["", "Admin", "has space"])
          yield* expectInvalid(users.assignRoleByName(user.id, bad), "roleName")
        assert.deepStrictEqual(yield* users.rolesOf(user.id), [])
        assert.deepStrictEqual(yield* auditActionsFor(user.id), ["user.created"])
      })
    )

    it.effect("grantByName grants idempotently and is audited like grant; unknown and bad names fail", () =>
      Effect.gen(function* () {
        const roles = yield* RoleRepository
        const role = yield* newRole()
        const permission = yield* newPermission()
        yield* roles.grantByName(role.name, permission.name)
        yield* roles.grantByName(role.name, permission.name)
        assert.deepStrictEqual(
          (yield* roles.permissionsOf(role.id)).map((held) => held.id),
          [permission.id]
        )
        const [granted] = yield* auditLogs({ targetId: role.id, action: "role.permission_granted" })
        assert.deepStrictEqual(granted!.metadata, {
          roleName: role.name,
          permissionId: permission.id,
          permissionName: permission.name
        })
        assert.deepStrictEqual(yield* auditActionsFor(role.id), ["role.permission_granted", "role.created"])

        const roleName = uniqueRoleName("nobody")
        const permissionName = uniquePermissionName()
        const noRole = yield* expectFailure(roles.grantByName(roleName, permission.name), "RoleNotFound")
        assert.strictEqual(noRole.name, roleName)
        const noPermission = yield* expectFailure(roles.grantByName(role.name, permissionName), "PermissionNotFound")
        assert.strictEqual(noPermission.name, permissionName)
        yield* expectInvalid(roles.grantByName("Not Valid", permission.name), "roleName")
        yield* expectInvalid(roles.grantByName(role.name, "not.valid"), "permissionName")
      })
    )

    it.effect("ensureWithPermissions creates what is missing, grants it, and audits each part once", () =>
      Effect.gen(function* () {
        const roles = yield* RoleRepository
        const permissions = yield* PermissionRepository
        const admin = yield* newUser("admin")
        const act = withActor(admin.id)
        const module = `m${unique()}`
        const existing = yield* newPermission(module, "read")
        const [write, remove] = [`${module}.things.write`, `${module}.things.remove`]
        const name = uniqueRoleName()

        const ensured = yield* act(
          roles.ensureWithPermissions({
            name,
            description: "Edits",
            permissions: [write, existing.name, remove, write]
          })
        )
        assert.strictEqual(ensured.role.name, name)
        assert.strictEqual(ensured.role.description, "Edits")
        assert.deepStrictEqual(
          ensured.permissions.map((permission) => permission.name),
          [existing.name, write, remove].sort()
        )
        assert.strictEqual(ensured.permissions.find((permission) => permission.name === existing.name)!.id, existing.id)
        assert.deepStrictEqual(
          (yield* roles.permissionsOf(ensured.role.id)).map((permission) => permission.name),
          [existing.name, write, remove].sort()
        )
        const roleLogs = yield* auditLogs({ targetId: ensured.role.id })
        assert.sameMembers(
          roleLogs.map((log) => `${log.action} ${log.metadata.permissionName ?? ""}`),
          [
            "role.created ",
            `role.permission_granted ${existing.name}`,
            `role.permission_granted ${write}`,
            `role.permission_granted ${remove}`
          ]
        )
        for (const log of roleLogs) assert.deepStrictEqual(log.actorId, Option.some(admin.id))
        const writeId = (yield* permissions.findByName(write)).id
        assert.deepStrictEqual(yield* auditActionsFor(writeId), ["permission.created"])
        assert.deepStrictEqual(yield* auditActionsFor(existing.id), ["permission.created"])

        // Again, with one more permission and another description: only the new permission is added.
        const audit = yield* auditLogs({})
        const extra = `${module}.things.audit`
        const again = yield* act(
          roles.ensureWithPermissions({ name, description: "ignored", permissions: [existing.name, extra] })
        )
        assert.strictEqual(again.role.id, ensured.role.id)
        assert.strictEqual(again.role.description, "Edits")
        assert.deepStrictEqual(
          again.permissions.map((permission) => permission.name),
          [existing.name, write, remove, extra].sort()
        )
        const after = yield* auditLogs({})
        const added = after.slice(0, after.length - audit.length)
        assert.sameMembers(
          added.map((log) => log.action),
          ["permission.created", "role.permission_granted"]
        )

        // And once more, unchanged: nothing written.
        yield* roles.ensureWithPermissions({ name, permissions: [extra, write] })
        assert.strictEqual((yield* auditLogs({})).length, audit.length + 2)

        const bare = yield* roles.ensureWithPermissions({ name: uniqueRoleName(), permissions: [] })
        assert.deepStrictEqual(bare.permissions, [])
      })
    )

    it.effect("ensureWithPermissions checks every name first, and commits or rolls back as one", () =>
      Effect.gen(function* () {
        const roles = yield* RoleRepository
        const permissions = yield* PermissionRepository
        const { withTransaction } = yield* Transactions
        const module = `m${unique()}`
        const name = uniqueRoleName()
        const valid = `${module}.a.read`
        const error = yield* expectInvalid(
          roles.ensureWithPermissions({ name, permissions: [valid, "Not A Permission"] }),
          "permissions[1]"
        )
        assert.include(error.message, "permissions[1]")
        yield* expectInvalid(roles.ensureWithPermissions({ name: "Not Valid", permissions: [valid] }), "name")
        yield* expectInvalid(
          roles.ensureWithPermissions({ name, description: "x".repeat(1001), permissions: [] }),
          "description"
        )
        yield* expectFailure(roles.findByName(name), "RoleNotFound")
        yield* expectFailure(permissions.findByName(valid), "PermissionNotFound")

        const exit = yield* Effect.exit(
          withTransaction(Effect.andThen(roles.ensureWithPermissions({ name, permissions: [valid] }), new Abort()))
        )
        assert.isTrue(Exit.isFailure(exit))
        yield* expectFailure(roles.findByName(name), "RoleNotFound")
        yield* expectFailure(permissions.findByName(valid), "PermissionNotFound")
      })
    )
  })
