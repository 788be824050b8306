/**
 * Issue 17, "proven on real code": the kernel's own `Role` and `Permission` Models, unchanged, declared with
 * the kit (src/Database/Entity/KernelEntities.ts: the declarations RoleRepository's and PermissionRepository's
 * stores run on), match the kernel's migrated tables (the catalog check passes, `created_at` made by the
 * database included), the constraint names the stores map violations with are the catalog's, and a kit
 * repository on `roles` reads and writes the very rows the kernel's RoleRepository does.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import { SqlClient } from "effect/sql"
import { readCatalog } from "../../../src/Database/Entity/CatalogCheck.ts"
import * as Entity from "../../../src/Database/Entity/EntityKit.ts"
import { kernelConstraints, Permissions, Roles } from "../../../src/Database/Entity/KernelEntities.ts"
import { RoleRepository } from "../../../src/Database/Repositories/RoleRepository.ts"
import { TestDatabase } from "../../../src/Database/Testing/TestDatabase.ts"
import { RoleName } from "../../../src/Domain/index.ts"
import { uniqueRoleName } from "../../Contract/Fixtures.ts"

class KitRoles extends Entity.Repository<KitRoles>()("test/KitRoles", Roles) {}

layer(TestDatabase.layer(), { timeout: "60 seconds" })("the kernel's tables declared with the kit", (it) => {
  it.effect("match the catalog, and the CREATE TABLE lets the database make created_at", () =>
    Effect.gen(function* () {
      yield* Entity.checkSchema(Roles, Permissions)
      assert.include(Entity.createTableSql(Roles), "created_at timestamp with time zone NOT NULL DEFAULT now()")
    })
  )

  it.effect("the stores' constraint names are the catalog's", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      for (const [entity, constraints] of [
        [Roles, kernelConstraints.roles],
        [Permissions, kernelConstraints.permissions]
      ] as const) {
        const catalog = (yield* readCatalog(sql, entity))!
        assert.deepStrictEqual(
          catalog.uniques.filter((unique) => !unique.primary),
          constraints.uniques.map((unique) => ({ ...unique, columns: [...unique.columns] }))
        )
        assert.deepStrictEqual(catalog.foreignKeys, [])
        assert.deepStrictEqual(
          catalog.checks,
          constraints.checks.map((check) => ({ ...check, columns: [...check.columns] }))
        )
      }
    })
  )

  it.effect("a kit repository on roles reads and writes the kernel's rows", () =>
    Effect.gen(function* () {
      const kernel = yield* RoleRepository
      const kit = yield* Effect.provide(
        Effect.gen(function* () {
          return yield* KitRoles
        }),
        KitRoles.layer
      )
      const made = yield* kernel.create({ name: uniqueRoleName(), description: "by the kernel" })
      assert.deepStrictEqual(yield* kit.findByName(made.name), made)
      const name = RoleName.make(uniqueRoleName())
      const written = yield* kit.create({ name, description: "by the kit" })
      assert.deepStrictEqual(yield* kernel.findById(written.id), written)
      const taken = yield* Effect.flip(kit.create({ name, description: "" }))
      assert.strictEqual(taken._tag, "KernelRoleNameTaken")
      const kernelPage = yield* kernel.list({ limit: 500 })
      const kitPage = yield* kit.list({ limit: 500 })
      assert.deepStrictEqual(kitPage.items, kernelPage.items)
      assert.strictEqual(Option.isSome(kitPage.nextCursor), Option.isSome(kernelPage.nextCursor))
    })
  )
})
