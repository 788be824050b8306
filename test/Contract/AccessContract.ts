import { assert, describe } from "@effect/vitest"
import { DateTime, Effect, Redacted } from "effect"
import { PermissionRepository } from "../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../src/Database/Repositories/RoleRepository.ts"
import { UserRepository } from "../../src/Database/Repositories/UserRepository.ts"
import { RoleId, UserId } from "../../src/Domain/index.ts"
import { expectFailure, expectInvalid } from "../support/Expect.ts"
import { type ContractIt, newPermission, newRole, newUser, unique, uniquePermissionName } from "./Fixtures.ts"

const missingUserId = UserId.make("00000000-0000-7000-8000-000000000004")
const missingRoleId = RoleId.make("00000000-0000-7000-8000-000000000005")

export const accessContract = (it: ContractIt) =>
  describe("users, roles and permissions together", () => {
    it.effect("assignRole and removeRole are idempotent; rolesOf lists the roles by name", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const user = yield* newUser()
        const b = yield* newRole("b")
        const a = yield* newRole("a")
        assert.deepStrictEqual(yield* users.rolesOf(user.id), [])
        yield* users.assignRole(user.id, b.id)
        yield* users.assignRole(user.id, a.id)
        yield* users.assignRole(user.id, a.id)
        assert.deepStrictEqual(
          (yield* users.rolesOf(user.id)).map((role) => role.id),
          [a.id, b.id]
        )
        yield* users.removeRole(user.id, b.id)
        yield* users.removeRole(user.id, b.id)
        assert.deepStrictEqual(
          (yield* users.rolesOf(user.id)).map((role) => role.name),
          [a.name]
        )
      })
    )

    it.effect("assignRole, removeRole, rolesOf, permissionsOf and findWithAccess fail for unknown ids", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const user = yield* newUser()
        const role = yield* newRole()
        yield* expectFailure(users.assignRole(missingUserId, role.id), "UserNotFound")
        yield* expectFailure(users.assignRole(user.id, missingRoleId), "RoleNotFound")
        yield* expectFailure(users.removeRole(missingUserId, role.id), "UserNotFound")
        yield* expectFailure(users.removeRole(user.id, missingRoleId), "RoleNotFound")
        yield* expectFailure(users.rolesOf(missingUserId), "UserNotFound")
        yield* expectFailure(users.permissionsOf(missingUserId), "UserNotFound")
        yield* expectFailure(users.findWithAccess(missingUserId), "UserNotFound")
        assert.deepStrictEqual(yield* users.rolesOf(user.id), [])
      })
    )

    it.effect("hasPermission truth table over overlapping roles, revoked grants and removed roles", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const roles = yield* RoleRepository
        const module = `m${unique()}`
        const read = yield* newPermission(module, "read")
        const write = yield* newPermission(module, "write")
        const remove = yield* newPermission(module, "delete")
        const audit = yield* newPermission(module, "audit")
        const ungranted = yield* newPermission(module, "ungranted")
        const reader = yield* newRole("reader")
        const editor = yield* newRole("editor")
        const auditor = yield* newRole("auditor")
        yield* roles.grant(reader.id, read.id)
        yield* roles.grant(editor.id, read.id) // overlaps with reader
        yield* roles.grant(editor.id, write.id)
        yield* roles.grant(editor.id, remove.id)
        yield* roles.revoke(editor.id, remove.id) // revoked
        yield* roles.grant(auditor.id, audit.id)

        const alice = yield* newUser("alice") // reader + editor
        const bob = yield* newUser("bob") // editor, then reader removed again
        const carol = yield* newUser("carol") // auditor, removed
        const dave = yield* newUser("dave") // nothing
        yield* users.assignRole(alice.id, reader.id)
        yield* users.assignRole(alice.id, editor.id)
        yield* users.assignRole(bob.id, editor.id)
        yield* users.assignRole(bob.id, reader.id)
        yield* users.removeRole(bob.id, reader.id)
        yield* users.assignRole(carol.id, auditor.id)
        yield* users.removeRole(carol.id, auditor.id)

        const unknownPermission = uniquePermissionName(module, "unknown")
        const table: ReadonlyArray<readonly [string, UserId, string, boolean]> = [
          ["alice", alice.id, read.name, true],
          ["alice", alice.id, write.name, true],
          ["alice", alice.id, remove.name, false],
          ["alice", alice.id, audit.name, false],
          ["alice", alice.id, ungranted.name, false],
          ["alice", alice.id, unknownPermission, false],
          ["bob", bob.id, read.name, true],
          ["bob", bob.id, write.name, true],
          ["bob", bob.id, remove.name, false],
          ["carol", carol.id, audit.name, false],
          ["carol", carol.id, read.name, false],
          ["dave", dave.id, read.name, false],
          ["unknown user", missingUserId, read.name, false]
        ]
        for (const [who, userId, permission, expected] of table) {
          assert.strictEqual(yield* users.hasPermission(userId, permission), expected, `${who} / ${permission}`)
        }
        assert.deepStrictEqual(
          (yield* users.permissionsOf(alice.id)).map((permission) => permission.name),
          [read.name, write.name].sort()
        )
        assert.deepStrictEqual(yield* users.permissionsOf(dave.id), [])
        for (const bad of ["", "iam.users", "IAM.users.read", "iam.users.read.x"]) {
          yield* expectInvalid(users.hasPermission(alice.id, bad), "permission")
        }
      })
    )

    it.effect("findWithAccess returns the user, its roles by name and their permissions by name", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const roles = yield* RoleRepository
        const user = yield* newUser()
        const module = `m${unique()}`
        const read = yield* newPermission(module, "read")
        const write = yield* newPermission(module, "write")
        const viewer = yield* newRole("b-viewer")
        const admin = yield* newRole("a-admin")
        const empty = yield* newRole("c-empty")
        yield* roles.grant(viewer.id, read.id)
        yield* roles.grant(admin.id, write.id)
        yield* roles.grant(admin.id, read.id)
        yield* users.assignRole(user.id, viewer.id)
        yield* users.assignRole(user.id, admin.id)
        yield* users.assignRole(user.id, empty.id)

        const access = yield* users.findWithAccess(user.id)
        assert.strictEqual(access.user.id, user.id)
        assert.strictEqual(access.user.email, user.email)
        assert.strictEqual(Redacted.value(access.user.passwordHash), Redacted.value(user.passwordHash))
        assert.deepStrictEqual(
          access.roles.map(({ role }) => role.id),
          [admin.id, viewer.id, empty.id]
        )
        assert.deepStrictEqual(
          access.roles.map(({ permissions }) => permissions.map((permission) => permission.name)),
          [[read.name, write.name].sort(), [read.name], []]
        )
        const adminRole = access.roles[0]!.role
        assert.strictEqual(adminRole.name, admin.name)
        assert.strictEqual(adminRole.description, admin.description)
        assert.strictEqual(DateTime.toEpochMillis(adminRole.createdAt), DateTime.toEpochMillis(admin.createdAt))
        const readPermission = access.roles[1]!.permissions[0]!
        assert.strictEqual(readPermission.id, read.id)
        assert.strictEqual(DateTime.toEpochMillis(readPermission.createdAt), DateTime.toEpochMillis(read.createdAt))

        const loner = yield* newUser()
        assert.deepStrictEqual((yield* users.findWithAccess(loner.id)).roles, [])
      })
    )

    it.effect("deleting a role removes it from its users and takes its grants along", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const roles = yield* RoleRepository
        const user = yield* newUser()
        const kept = yield* newRole()
        const deleted = yield* newRole()
        const permission = yield* newPermission()
        yield* roles.grant(deleted.id, permission.id)
        yield* users.assignRole(user.id, kept.id)
        yield* users.assignRole(user.id, deleted.id)
        assert.isTrue(yield* users.hasPermission(user.id, permission.name))
        yield* roles.delete(deleted.id)
        yield* expectFailure(roles.findById(deleted.id), "RoleNotFound")
        yield* expectFailure(roles.delete(deleted.id), "RoleNotFound")
        assert.deepStrictEqual(
          (yield* users.rolesOf(user.id)).map((role) => role.id),
          [kept.id]
        )
        assert.isFalse(yield* users.hasPermission(user.id, permission.name))
        assert.deepStrictEqual(yield* users.permissionsOf(user.id), [])
        // A new role of the same name starts with no grants and no users.
        const recreated = yield* roles.create({ name: deleted.name })
        assert.deepStrictEqual(yield* roles.permissionsOf(recreated.id), [])
      })
    )

    it.effect("deleting a permission removes it from every role and user", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const roles = yield* RoleRepository
        const permissions = yield* PermissionRepository
        const user = yield* newUser()
        const role = yield* newRole()
        const permission = yield* newPermission()
        yield* roles.grant(role.id, permission.id)
        yield* users.assignRole(user.id, role.id)
        yield* permissions.delete(permission.id)
        assert.isFalse(yield* users.hasPermission(user.id, permission.name))
        assert.deepStrictEqual(yield* roles.permissionsOf(role.id), [])
        assert.deepStrictEqual((yield* users.findWithAccess(user.id)).roles[0]!.permissions, [])
      })
    )

    it.effect("deleting a user removes its role links but not the roles", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const roles = yield* RoleRepository
        const user = yield* newUser()
        const role = yield* newRole()
        yield* users.assignRole(user.id, role.id)
        yield* users.delete(user.id)
        yield* expectFailure(users.rolesOf(user.id), "UserNotFound")
        yield* expectFailure(users.assignRole(user.id, role.id), "UserNotFound")
        assert.strictEqual((yield* roles.findById(role.id)).id, role.id)
        // Re-using the address makes a new user without the old links.
        const again = yield* users.create({ email: user.email, passwordHash: user.passwordHash })
        assert.deepStrictEqual(yield* users.rolesOf(again.id), [])
        yield* roles.delete(role.id)
      })
    )
  })
