import { assert, describe } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { PermissionRepository } from "../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../src/Database/Repositories/RoleRepository.ts"
import { UserRepository } from "../../src/Database/Repositories/UserRepository.ts"
import { type AuditLog, withActor } from "../../src/Domain/index.ts"
import {
  auditActionsFor,
  auditLogs,
  type ContractIt,
  makeHash,
  newUser,
  uniqueEmail,
  uniquePermissionName,
  uniqueRoleName
} from "./Fixtures.ts"

/** Each record of `targetId`, oldest first, as `[action, metadata]`; every one must be by `actor`. */
const recordsBy = (targetId: string, actor: string) =>
  Effect.map(auditLogs({ targetId }), (logs) => {
    for (const log of logs) assert.deepStrictEqual(log.actorId, Option.some(actor), `${log.action} by the actor`)
    return logs.toReversed().map((log: AuditLog): readonly [string, unknown] => [log.action, log.metadata])
  })

export const changeAuditContract = (it: ContractIt) =>
  describe("the audit trail of changes", () => {
    it.effect("each change of a user's e-mail, password hash or verified flag is recorded; no-ops are not", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const admin = yield* newUser("admin")
        const act = withActor(admin.id)
        const user = yield* act(newUser())
        const email = uniqueEmail("changed")
        yield* act(users.update(user.id, { email: email.toUpperCase() }))
        const hash = makeHash()
        yield* act(users.update(user.id, { passwordHash: hash }))
        yield* act(users.update(user.id, { verified: true }))
        // Nothing changes: no record.
        yield* act(users.update(user.id, {}))
        yield* act(users.update(user.id, { email, passwordHash: Redacted.make(Redacted.value(hash)), verified: true }))
        // Three changes at once: three records.
        const last = uniqueEmail("last")
        yield* act(users.update(user.id, { email: last, passwordHash: makeHash(), verified: false }))

        assert.deepStrictEqual(yield* recordsBy(user.id, admin.id), [
          ["user.created", { email: user.email, verified: false }],
          ["user.email_changed", { previousEmail: user.email, email }],
          ["user.password_changed", { email }],
          ["user.verified_changed", { email, verified: true }],
          ["user.email_changed", { previousEmail: email, email: last }],
          ["user.password_changed", { email: last }],
          ["user.verified_changed", { email: last, verified: false }]
        ])
      })
    )

    it.effect("creating, renaming and redescribing a role and creating a permission are recorded", () =>
      Effect.gen(function* () {
        const roles = yield* RoleRepository
        const permissions = yield* PermissionRepository
        const admin = yield* newUser("admin")
        const act = withActor(admin.id)

        const name = uniqueRoleName()
        const role = yield* act(roles.create({ name, description: "first" }))
        const renamed = uniqueRoleName("renamed")
        yield* act(roles.update(role.id, { name: renamed }))
        yield* act(roles.update(role.id, { description: "second" }))
        yield* act(roles.update(role.id, { name: renamed, description: "second" }))
        yield* act(roles.update(role.id, {}))
        assert.deepStrictEqual(yield* recordsBy(role.id, admin.id), [
          ["role.created", { name, description: "first" }],
          ["role.renamed", { previousName: name, name: renamed }],
          ["role.description_changed", { name: renamed, previousDescription: "first", description: "second" }]
        ])

        const ensuredName = uniqueRoleName("ensured")
        const ensured = yield* act(roles.ensure({ name: ensuredName }))
        yield* act(roles.ensure({ name: ensuredName, description: "ignored" }))
        assert.deepStrictEqual(yield* recordsBy(ensured.id, admin.id), [
          ["role.created", { name: ensuredName, description: "" }]
        ])

        const permissionName = uniquePermissionName()
        const permission = yield* act(permissions.create({ name: permissionName, description: "reads" }))
        assert.deepStrictEqual(yield* recordsBy(permission.id, admin.id), [
          ["permission.created", { name: permissionName, description: "reads" }]
        ])
        const ensuredPermissionName = uniquePermissionName()
        const ensuredPermission = yield* act(permissions.ensure({ name: ensuredPermissionName }))
        yield* act(permissions.ensure({ name: ensuredPermissionName }))
        yield* act(permissions.ensure({ name: permissionName }))
        assert.deepStrictEqual(yield* recordsBy(ensuredPermission.id, admin.id), [
          ["permission.created", { name: ensuredPermissionName, description: "" }]
        ])
        assert.deepStrictEqual(yield* auditActionsFor(permission.id), ["permission.created"])
      })
    )
  })
