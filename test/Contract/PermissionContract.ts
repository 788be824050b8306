import { assert, describe } from "@effect/vitest"
import { Effect } from "effect"
import { PermissionRepository } from "../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../src/Database/Repositories/RoleRepository.ts"
import { PermissionId } from "../../src/Domain/index.ts"
import { expectFailure, expectInvalid } from "../support/Expect.ts"
import { allPages, type ContractIt, newPermission, newRole, unique, uniquePermissionName } from "./Fixtures.ts"

const missingPermissionId = PermissionId.make("00000000-0000-7000-8000-000000000003")

const moduleNames = (module: string, limit = 500) =>
  PermissionRepository.use((permissions) =>
    Effect.map(
      allPages((cursor) => permissions.list({ module, limit, cursor })),
      (pages) => pages.map((page) => page.map((permission) => permission.name))
    )
  )

export const permissionContract = (it: ContractIt) =>
  describe("PermissionRepository", () => {
    it.effect("create, findById, findByName round trip", () =>
      Effect.gen(function* () {
        const permissions = yield* PermissionRepository
        const name = uniquePermissionName()
        const permission = yield* permissions.create({ name, description: "Reads" })
        assert.strictEqual(permission.name, name)
        assert.strictEqual(permission.description, "Reads")
        assert.strictEqual((yield* permissions.findById(permission.id)).name, name)
        assert.strictEqual((yield* permissions.findByName(name)).id, permission.id)
        assert.strictEqual((yield* newPermission()).description, "")
      })
    )

    it.effect("a taken name fails with PermissionNameTaken", () =>
      Effect.gen(function* () {
        const permissions = yield* PermissionRepository
        const permission = yield* newPermission()
        const error = yield* expectFailure(permissions.create({ name: permission.name }), "PermissionNameTaken")
        assert.strictEqual(error.name, permission.name)
      })
    )

    it.effect("invalid names are rejected on field name and nothing is written", () =>
      Effect.gen(function* () {
        const permissions = yield* PermissionRepository
        const module = `m${unique()}`
        const invalid = [
          "",
          `${module}.users`,
          `${module}.Users.read`,
          `${module}..read`,
          `${module}.users.read.extra`,
          `${module}.users.read `,
          `${module}.us-ers.read`,
          `${module}.${"a".repeat(200)}.read`
        ]
        for (const name of invalid) {
          yield* expectInvalid(permissions.create({ name }), "name")
          yield* expectInvalid(permissions.ensure({ name }), "name")
          yield* expectInvalid(permissions.findByName(name), "name")
        }
        yield* expectInvalid(
          permissions.create({ name: uniquePermissionName(module), description: "x".repeat(1001) }),
          "description"
        )
        assert.deepStrictEqual(yield* moduleNames(module), [[]])
      })
    )

    it.effect("ensure creates a missing permission and returns an existing one unchanged", () =>
      Effect.gen(function* () {
        const permissions = yield* PermissionRepository
        const name = uniquePermissionName()
        const created = yield* permissions.ensure({ name, description: "first" })
        const again = yield* permissions.ensure({ name, description: "second" })
        assert.strictEqual(again.id, created.id)
        assert.strictEqual(again.description, "first")
        const other = uniquePermissionName()
        const concurrent = yield* Effect.forEach([1, 2, 3, 4, 5, 6], () => permissions.ensure({ name: other }), {
          concurrency: "unbounded"
        })
        assert.strictEqual(new Set(concurrent.map((permission) => permission.id)).size, 1)
      })
    )

    it.effect("unknown permissions fail with PermissionNotFound", () =>
      Effect.gen(function* () {
        const permissions = yield* PermissionRepository
        const byId = yield* expectFailure(permissions.findById(missingPermissionId), "PermissionNotFound")
        assert.strictEqual(byId.id, missingPermissionId)
        const name = uniquePermissionName()
        const byName = yield* expectFailure(permissions.findByName(name), "PermissionNotFound")
        assert.strictEqual(byName.name, name)
        yield* expectFailure(permissions.delete(missingPermissionId), "PermissionNotFound")
      })
    )

    it.effect("list filters by module (exactly the first segment) and pages by name", () =>
      Effect.gen(function* () {
        const permissions = yield* PermissionRepository
        const module = `m_${unique()}`
        // Traps: a longer module with the same prefix, and '_' matching any character in LIKE.
        const mine = yield* Effect.forEach(["e", "a", "d", "b", "c"], (resource) =>
          permissions.create({ name: `${module}.${resource}.read` })
        )
        yield* permissions.create({ name: `${module}x.a.read` })
        yield* permissions.create({ name: `${module.replace("_", "z")}.a.read` })
        const pages = yield* moduleNames(module, 2)
        assert.deepStrictEqual(pages.flat(), mine.map((permission) => permission.name).sort())
        assert.deepStrictEqual(
          pages.map((page) => page.length),
          [2, 2, 1]
        )
        yield* expectInvalid(permissions.list({ module: "Not.A.Module" }), "module")
        yield* expectInvalid(permissions.list({ module: "" }), "module")

        const everything = yield* allPages((cursor) => permissions.list({ limit: 3, cursor }))
        const names = everything.flat().map((permission) => permission.name)
        assert.strictEqual(new Set(names).size, names.length, "no permission twice")
        for (const permission of mine) assert.include(names, permission.name)
      })
    )

    it.effect("delete removes the permission and its grants", () =>
      Effect.gen(function* () {
        const permissions = yield* PermissionRepository
        const roles = yield* RoleRepository
        const role = yield* newRole()
        const kept = yield* newPermission()
        const deleted = yield* newPermission()
        yield* roles.grant(role.id, kept.id)
        yield* roles.grant(role.id, deleted.id)
        yield* permissions.delete(deleted.id)
        yield* expectFailure(permissions.findById(deleted.id), "PermissionNotFound")
        yield* expectFailure(permissions.delete(deleted.id), "PermissionNotFound")
        assert.deepStrictEqual(
          (yield* roles.permissionsOf(role.id)).map((permission) => permission.id),
          [kept.id]
        )
      })
    )
  })
