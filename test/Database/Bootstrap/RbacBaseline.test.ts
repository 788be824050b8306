import { assert, layer } from "@effect/vitest"
import { Effect, Exit, type Layer } from "effect"
import { apply as applyRbacBaseline, type RbacRoles } from "../../../src/Database/Bootstrap/RbacBaseline.ts"
import { MemoryDatabase } from "../../../src/Database/Memory/MemoryDatabase.ts"
import { AuditLogRepository } from "../../../src/Database/Repositories/AuditLogRepository.ts"
import { PermissionRepository } from "../../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../../src/Database/Repositories/RoleRepository.ts"
import type { Transactions } from "../../../src/Database/Repositories/Transactions.ts"
import { expectFailure } from "../../support/Expect.ts"
import { RepositoriesTestLayer } from "../../support/RepositoriesTestLayer.ts"

const baseline: RbacRoles = [
  { name: "admin", description: "Full access", permissions: ["iam.users.read", "iam.users.write", "iam.roles.write"] },
  { name: "viewer", permissions: ["iam.users.read"] }
]

const grantsOf = (name: string) =>
  Effect.gen(function* () {
    const roles = yield* RoleRepository
    const role = yield* roles.findByName(name)
    return (yield* roles.permissionsOf(role.id)).map((permission) => permission.name)
  })

const auditActions = Effect.gen(function* () {
  const audit = yield* AuditLogRepository
  return (yield* audit.list({ limit: 500 })).items.map((log): string => log.action)
})

const suite = (
  name: string,
  backend: Layer.Layer<RoleRepository | PermissionRepository | AuditLogRepository | Transactions, unknown>
) =>
  layer(backend, { timeout: "60 seconds" })(`rbac.roles baseline on ${name}`, (it) => {
    it.effect("creates the roles, permissions and grants; a second run changes nothing and audits nothing", () =>
      Effect.gen(function* () {
        yield* applyRbacBaseline(baseline)
        assert.deepStrictEqual(yield* grantsOf("admin"), ["iam.roles.write", "iam.users.read", "iam.users.write"])
        assert.deepStrictEqual(yield* grantsOf("viewer"), ["iam.users.read"])
        const roles = yield* RoleRepository
        assert.strictEqual((yield* roles.findByName("admin")).description, "Full access")
        const audited = yield* auditActions
        // Each role, permission and grant, once.
        assert.deepStrictEqual(audited.toSorted(), [
          ...Array.from({ length: 3 }, () => "permission.created"),
          ...Array.from({ length: 2 }, () => "role.created"),
          ...Array.from({ length: 4 }, () => "role.permission_granted")
        ])

        yield* applyRbacBaseline(baseline)
        assert.deepStrictEqual(yield* auditActions, audited)
        const permissions = yield* PermissionRepository
        assert.strictEqual((yield* permissions.list({ module: "iam" })).items.length, 3)
        assert.strictEqual((yield* roles.list()).items.length, 2)
      })
    )

    it.effect("refuses a bad entry, naming it, and applies nothing of the run", () =>
      Effect.gen(function* () {
        const error = yield* expectFailure(
          applyRbacBaseline([
            { name: "auditor", permissions: ["audit.logs.read"] },
            { name: "broken", permissions: ["Not A Permission"] }
          ]),
          "RbacBaselineError"
        )
        assert.match(error.message, /^rbac\.roles\[1\] \(broken\): /)
        const roles = yield* RoleRepository
        assert.isTrue(Exit.isFailure(yield* Effect.exit(roles.findByName("auditor"))))
      })
    )
  })

suite("PostgreSQL", RepositoriesTestLayer())
suite("memory", MemoryDatabase.layer)
