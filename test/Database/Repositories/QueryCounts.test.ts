import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { PermissionRepository } from "../../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../../src/Database/Repositories/RoleRepository.ts"
import { UserRepository } from "../../../src/Database/Repositories/UserRepository.ts"
import { UserId } from "../../../src/Domain/index.ts"
import { makeHash, uniqueEmail, uniquePermissionName, uniqueRoleName } from "../../Contract/Fixtures.ts"
import { RepositoriesTestLayer } from "../../support/RepositoriesTestLayer.ts"
import { recordStatements } from "../../support/StatementRecorder.ts"

// A user with three roles, each granted two permissions.
const seedUser = Effect.gen(function* () {
  const users = yield* UserRepository
  const roles = yield* RoleRepository
  const permissions = yield* PermissionRepository
  const user = yield* users.create({ email: uniqueEmail(), passwordHash: makeHash() })
  for (let r = 0; r < 3; r++) {
    const role = yield* roles.create({ name: uniqueRoleName() })
    for (let p = 0; p < 2; p++) {
      const permission = yield* permissions.create({ name: uniquePermissionName() })
      yield* roles.grant(role.id, permission.id)
    }
    yield* users.assignRole(user.id, role.id)
  }
  return user
})

layer(RepositoriesTestLayer(), { excludeTestServices: true, timeout: "60 seconds" })("statement counts", (it) => {
  it.effect("findWithAccess reads the user, its roles and their permissions in one statement", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      const user = yield* seedUser
      const [access, statements] = yield* recordStatements(users.findWithAccess(user.id))
      assert.strictEqual(access.roles.length, 3)
      assert.deepStrictEqual(
        access.roles.map(({ permissions }) => permissions.length),
        [2, 2, 2]
      )
      assert.strictEqual(statements.length, 1, statements.join("\n---\n"))
    })
  )

  // The first call starts alone (nothing in flight), so it runs its own scalar statement at once, without the
  // batching machinery; the 99 that start while it is in flight share one batched statement.
  it.effect("100 concurrent findById calls issue two queries; missing ids fail only their own call", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      const created = yield* Effect.forEach(Array.from({ length: 98 }), () =>
        users.create({ email: uniqueEmail(), passwordHash: makeHash() })
      )
      const ids = [
        ...created.map((user) => user.id),
        UserId.make("00000000-0000-7000-8000-00000000000a"),
        UserId.make("00000000-0000-7000-8000-00000000000b")
      ]
      const [results, statements] = yield* recordStatements(
        Effect.forEach(ids, (id) => Effect.result(users.findById(id)), { concurrency: "unbounded" })
      )
      assert.strictEqual(statements.length, 2, statements.join("\n---\n"))
      assert.include(statements[0]!, "WHERE id = $1")
      assert.include(statements[1]!, "unnest($1::uuid[])")
      assert.strictEqual(results.filter((result) => result._tag === "Success").length, 98)
      assert.deepStrictEqual(
        results.slice(98).map((result) => (result._tag === "Failure" ? result.failure._tag : "Success")),
        ["UserNotFound", "UserNotFound"]
      )
    })
  )

  it.effect("hasPermission, rolesOf and permissionsOf are one statement each", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      const user = yield* seedUser
      const access = yield* users.findWithAccess(user.id)
      const permission = access.roles[0]!.permissions[0]!.name
      const [allowed, checks] = yield* recordStatements(users.hasPermission(user.id, permission))
      assert.isTrue(allowed)
      assert.strictEqual(checks.length, 1)
      assert.include(checks[0]!, "EXISTS")
      const [, denied] = yield* recordStatements(users.hasPermission(user.id, uniquePermissionName()))
      assert.strictEqual(denied.length, 1)
      const [roles, rolesOf] = yield* recordStatements(users.rolesOf(user.id))
      assert.strictEqual(roles.length, 3)
      assert.strictEqual(rolesOf.length, 1)
      const [permissions, permissionsOf] = yield* recordStatements(users.permissionsOf(user.id))
      assert.strictEqual(permissions.length, 6)
      assert.strictEqual(permissionsOf.length, 1)
    })
  )

  it.effect("ensureWithPermissions issues the same statements for 2 permissions as for 8", () =>
    Effect.gen(function* () {
      const roles = yield* RoleRepository
      const counts = yield* Effect.forEach([2, 8], (size) =>
        Effect.gen(function* () {
          const input = {
            name: uniqueRoleName(),
            permissions: Array.from({ length: size }, () => uniquePermissionName())
          }
          const [created, first] = yield* recordStatements(roles.ensureWithPermissions(input))
          assert.strictEqual(created.permissions.length, size)
          const [, again] = yield* recordStatements(roles.ensureWithPermissions(input))
          return [first.length, again.length]
        })
      )
      // Creating: the role, the permissions, the grants, the records, the result. Again: each insert finds
      // its rows taken and reads them, the grants change nothing, nothing is recorded.
      assert.deepStrictEqual(counts, [
        [5, 6],
        [5, 6]
      ])
    })
  )

  it.effect("assignRoleByName and grantByName are one statement for the link, and one for the record", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      const roles = yield* RoleRepository
      const permissions = yield* PermissionRepository
      const user = yield* users.create({ email: uniqueEmail(), passwordHash: makeHash() })
      const role = yield* roles.create({ name: uniqueRoleName() })
      const permission = yield* permissions.create({ name: uniquePermissionName() })
      const [, assigned] = yield* recordStatements(users.assignRoleByName(user.id, role.name))
      const [, granted] = yield* recordStatements(roles.grantByName(role.name, permission.name))
      for (const statements of [assigned, granted]) {
        assert.strictEqual(statements.length, 2, statements.join("\n---\n"))
        assert.include(statements[1]!, "INSERT INTO audit_logs")
      }
      const [, unchanged] = yield* recordStatements(roles.grantByName(role.name, permission.name))
      assert.strictEqual(unchanged.length, 1)
    })
  )

  it.effect("invalid input is rejected before any statement", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      const roles = yield* RoleRepository
      const user = yield* seedUser
      const [, statements] = yield* recordStatements(
        Effect.all([
          Effect.flip(users.hasPermission(user.id, "Not A Permission")),
          Effect.flip(users.create({ email: "nope", passwordHash: makeHash() })),
          Effect.flip(roles.create({ name: "Nope" })),
          Effect.flip(roles.ensureWithPermissions({ name: "ok", permissions: ["iam.users.read", "Nope"] })),
          Effect.flip(roles.grantByName("ok", "Nope")),
          Effect.flip(users.list({ cursor: "garbage" }))
        ])
      )
      assert.deepStrictEqual(statements, [])
    })
  )
})
