/**
 * Issue 17, "proven on real code" (the part done): the kernel's own `Role` and `Permission` Models, unchanged,
 * declared with the kit, match the kernel's migrated tables (the catalog check passes, `created_at` made by
 * the database included), and a kit repository on `roles` reads and writes the very rows the kernel's
 * RoleRepository does. The kernel's repositories themselves still run on their own stores.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import * as Entity from "../../../src/Database/Entity/EntityKit.ts"
import { RoleRepository } from "../../../src/Database/Repositories/RoleRepository.ts"
import { TestDatabase } from "../../../src/Database/Testing/TestDatabase.ts"
import { Permission, Role, RoleName } from "../../../src/Domain/index.ts"
import { uniqueRoleName } from "../../Contract/Fixtures.ts"

class KitRoleNotFound extends Schema.TaggedError<KitRoleNotFound>()("KitRoleNotFound", Entity.NotFoundFields) {}
class KitRoleNameTaken extends Schema.TaggedError<KitRoleNameTaken>()("KitRoleNameTaken", Entity.KeyTakenFields) {}
class KitPermissionNotFound extends Schema.TaggedError<KitPermissionNotFound>()(
  "KitPermissionNotFound",
  Entity.NotFoundFields
) {}
class KitPermissionNameTaken extends Schema.TaggedError<KitPermissionNameTaken>()(
  "KitPermissionNameTaken",
  Entity.KeyTakenFields
) {}

const Roles = Entity.make(Role, {
  table: "roles",
  notFound: KitRoleNotFound,
  keys: { name: KitRoleNameTaken },
  order: ["name"]
})
const Permissions = Entity.make(Permission, {
  table: "permissions",
  notFound: KitPermissionNotFound,
  keys: { name: KitPermissionNameTaken },
  order: ["name"]
})
class KitRoles extends Entity.Repository<KitRoles>()("test/KitRoles", Roles) {}

layer(TestDatabase.layer(), { timeout: "60 seconds" })("the kernel's tables declared with the kit", (it) => {
  it.effect("match the catalog, and the CREATE TABLE lets the database make created_at", () =>
    Effect.gen(function* () {
      yield* Entity.checkSchema(Roles, Permissions)
      assert.include(Entity.createTableSql(Roles), "created_at timestamp with time zone NOT NULL DEFAULT now()")
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
      assert.strictEqual(taken._tag, "KitRoleNameTaken")
      const kernelPage = yield* kernel.list({ limit: 500 })
      const kitPage = yield* kit.list({ limit: 500 })
      assert.deepStrictEqual(kitPage.items, kernelPage.items)
      assert.strictEqual(Option.isSome(kitPage.nextCursor), Option.isSome(kernelPage.nextCursor))
    })
  )
})
