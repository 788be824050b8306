import { assert, describe } from "@effect/vitest"
import { Effect } from "effect"
import { RoleRepository } from "../../src/Database/Repositories/RoleRepository.ts"
import { PermissionId, RoleId } from "../../src/Domain/index.ts"
import { expectFailure, expectInvalid } from "../support/Expect.ts"
import { allPages, type ContractIt, newPermission, newRole, unique, uniqueRoleName } from "./Fixtures.ts"

const missingRoleId = RoleId.make("00000000-0000-7000-8000-000000000001")
const missingPermissionId = PermissionId.make("00000000-0000-7000-8000-000000000002")

const allRoleNames = RoleRepository.use((roles) =>
  Effect.map(
    allPages((cursor) => roles.list({ limit: 500, cursor })),
    (pages) => pages.flat().map((role) => role.name)
  )
)

export const roleContract = (it: ContractIt) =>
  describe("RoleRepository", () => {
    it.effect("create, findById, findByName round trip; the description defaults to empty", () =>
      Effect.gen(function* () {
        const roles = yield* RoleRepository
        const name = uniqueRoleName()
        const role = yield* roles.create({ name })
        assert.strictEqual(role.name, name)
        assert.strictEqual(role.description, "")
        const described = yield* roles.create({ name: uniqueRoleName(), description: "Reads things" })
        assert.strictEqual(described.description, "Reads things")
        assert.strictEqual((yield* roles.findById(role.id)).name, name)
        assert.strictEqual((yield* roles.findByName(name)).id, role.id)
      })
    )

    it.effect("a taken name fails with RoleNameTaken", () =>
      Effect.gen(function* () {
        const roles = yield* RoleRepository
        const role = yield* newRole()
        const error = yield* expectFailure(roles.create({ name: role.name }), "RoleNameTaken")
        assert.strictEqual(error.name, role.name)
      })
    )

    it.effect("invalid names and descriptions are rejected on their field and nothing is written", () =>
      Effect.gen(function* () {
        const roles = yield* RoleRepository
        const before = yield* allRoleNames
        const suffix = unique()
        for (const name of [
          "",
          `Admin${suffix}`,
          `1${suffix}`,
          `has space${suffix}`,
          `x${"a".repeat(64)}`,
          `a.b${suffix}`
        ]) {
          yield* expectInvalid(roles.create({ name }), "name")
          yield* expectInvalid(roles.ensure({ name }), "name")
          yield* expectInvalid(roles.findByName(name), "name")
        }
        yield* expectInvalid(roles.create({ name: uniqueRoleName(), description: "x".repeat(1001) }), "description")
        assert.deepStrictEqual(yield* allRoleNames, before)
      })
    )

    it.effect("ensure creates a missing role and returns an existing one unchanged", () =>
      Effect.gen(function* () {
        const roles = yield* RoleRepository
        const name = uniqueRoleName()
        const created = yield* roles.ensure({ name, description: "first" })
        assert.strictEqual(created.description, "first")
        const again = yield* roles.ensure({ name, description: "second" })
        assert.strictEqual(again.id, created.id)
        assert.strictEqual(again.description, "first")
        const concurrent = yield* Effect.forEach([1, 2, 3, 4, 5, 6], () => roles.ensure({ name: `${name}-c` }), {
          concurrency: "unbounded"
        })
        assert.strictEqual(new Set(concurrent.map((role) => role.id)).size, 1)
      })
    )

    it.effect("update renames and redescribes; an empty patch returns the current row", () =>
      Effect.gen(function* () {
        const roles = yield* RoleRepository
        const role = yield* roles.create({ name: uniqueRoleName(), description: "before" })
        const same = yield* roles.update(role.id, {})
        assert.strictEqual(same.name, role.name)
        assert.strictEqual(same.description, "before")
        const redescribed = yield* roles.update(role.id, { description: "after" })
        assert.strictEqual(redescribed.name, role.name)
        assert.strictEqual(redescribed.description, "after")
        const name = uniqueRoleName("renamed")
        const renamed = yield* roles.update(role.id, { name })
        assert.strictEqual(renamed.name, name)
        assert.strictEqual(renamed.description, "after")
        assert.strictEqual((yield* roles.findByName(name)).id, role.id)
        yield* expectFailure(roles.findByName(role.name), "RoleNotFound")
      })
    )

    it.effect("update fails with RoleNameTaken, InvalidInput or RoleNotFound and changes nothing", () =>
      Effect.gen(function* () {
        const roles = yield* RoleRepository
        const taken = yield* newRole()
        const role = yield* newRole()
        const error = yield* expectFailure(roles.update(role.id, { name: taken.name }), "RoleNameTaken")
        assert.strictEqual(error.name, taken.name)
        yield* expectInvalid(roles.update(role.id, { name: "Not Valid", description: "x" }), "name")
        yield* expectFailure(roles.update(missingRoleId, { description: "x" }), "RoleNotFound")
        const found = yield* roles.findById(role.id)
        assert.strictEqual(found.name, role.name)
        assert.strictEqual(found.description, "")
      })
    )

    it.effect("unknown roles fail with RoleNotFound", () =>
      Effect.gen(function* () {
        const roles = yield* RoleRepository
        const byId = yield* expectFailure(roles.findById(missingRoleId), "RoleNotFound")
        assert.strictEqual(byId.id, missingRoleId)
        const byName = yield* expectFailure(roles.findByName(uniqueRoleName("nobody")), "RoleNotFound")
        assert.include(byName.name ?? "", "nobody-")
        yield* expectFailure(roles.delete(missingRoleId), "RoleNotFound")
        yield* expectFailure(roles.permissionsOf(missingRoleId), "RoleNotFound")
        yield* expectFailure(roles.findById("not-a-uuid" as RoleId), "RoleNotFound")
      })
    )

    it.effect("grant and revoke are idempotent; permissionsOf lists the grants by name", () =>
      Effect.gen(function* () {
        const roles = yield* RoleRepository
        const role = yield* newRole()
        const module = `m${unique()}`
        const write = yield* newPermission(module, "write")
        const read = yield* newPermission(module, "read")
        assert.deepStrictEqual(yield* roles.permissionsOf(role.id), [])
        yield* roles.grant(role.id, write.id)
        yield* roles.grant(role.id, read.id)
        yield* roles.grant(role.id, read.id)
        const names = (yield* roles.permissionsOf(role.id)).map((permission) => permission.name)
        assert.deepStrictEqual(names, [read.name, write.name].sort())
        yield* roles.revoke(role.id, write.id)
        yield* roles.revoke(role.id, write.id)
        assert.deepStrictEqual(
          (yield* roles.permissionsOf(role.id)).map((permission) => permission.id),
          [read.id]
        )
      })
    )

    it.effect("grant and revoke fail with RoleNotFound or PermissionNotFound for unknown ids", () =>
      Effect.gen(function* () {
        const roles = yield* RoleRepository
        const role = yield* newRole()
        const permission = yield* newPermission()
        yield* expectFailure(roles.grant(missingRoleId, permission.id), "RoleNotFound")
        yield* expectFailure(roles.grant(role.id, missingPermissionId), "PermissionNotFound")
        yield* expectFailure(roles.revoke(missingRoleId, permission.id), "RoleNotFound")
        yield* expectFailure(roles.revoke(role.id, missingPermissionId), "PermissionNotFound")
        assert.deepStrictEqual(yield* roles.permissionsOf(role.id), [])
      })
    )

    it.effect("list pages through every role exactly once, by name", () =>
      Effect.gen(function* () {
        const roles = yield* RoleRepository
        const prefix = `paged-${unique()}`
        const mine = yield* Effect.forEach(["e", "a", "d", "b", "c"], (letter) =>
          roles.create({ name: `${prefix}-${letter}` })
        )
        const pages = yield* allPages((cursor) => roles.list({ limit: 2, cursor }))
        const names = pages.flat().map((role) => role.name)
        assert.strictEqual(new Set(names).size, names.length, "no role twice")
        const sorted = names.filter((name) => name.startsWith(prefix))
        assert.deepStrictEqual(sorted, mine.map((role) => role.name).sort())
        for (const page of pages.slice(0, -1)) assert.strictEqual(page.length, 2)
      })
    )
  })
