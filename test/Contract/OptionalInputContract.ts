import { assert, describe } from "@effect/vitest"
import { Effect, Option } from "effect"
import { AuditLogRepository } from "../../src/Database/Repositories/AuditLogRepository.ts"
import { PermissionRepository } from "../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../src/Database/Repositories/RoleRepository.ts"
import { UserRepository } from "../../src/Database/Repositories/UserRepository.ts"
import { withActor } from "../../src/Domain/index.ts"
import {
  auditActionsFor,
  type ContractIt,
  makeHash,
  newUser,
  unique,
  uniqueEmail,
  uniquePermissionName,
  uniqueRoleName
} from "./Fixtures.ts"

// What a caller under `exactOptionalPropertyTypes` passes when it holds a value that may be missing.
const absent = undefined

export const optionalInputContract = (it: ContractIt) =>
  describe("optional input fields", () => {
    it.effect("an optional field that is undefined is treated as absent, in every repository", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const roles = yield* RoleRepository
        const permissions = yield* PermissionRepository
        const audit = yield* AuditLogRepository

        const user = yield* users.create({ email: uniqueEmail(), passwordHash: makeHash(), verified: absent })
        assert.isFalse(user.verified)
        const same = yield* users.update(user.id, { email: absent, passwordHash: absent, verified: absent })
        assert.strictEqual(same.email, user.email)
        const verified = yield* users.update(user.id, { email: absent, verified: true })
        assert.isTrue(verified.verified)
        assert.deepStrictEqual(yield* auditActionsFor(user.id), ["user.verified_changed", "user.created"])
        const page = yield* users.list({ limit: absent, cursor: absent })
        assert.isAtMost(page.items.length, 50)

        const role = yield* roles.create({ name: uniqueRoleName(), description: absent })
        assert.strictEqual(role.description, "")
        const renamed = yield* roles.update(role.id, { name: absent, description: "set" })
        assert.strictEqual(renamed.name, role.name)
        assert.strictEqual((yield* roles.ensure({ name: role.name, description: absent })).id, role.id)
        yield* roles.list({ cursor: absent })

        const permission = yield* permissions.create({ name: uniquePermissionName(), description: absent })
        assert.strictEqual(permission.description, "")
        yield* permissions.list({ module: absent, cursor: absent, limit: absent })

        const actor = yield* newUser()
        const targetId = unique()
        const log = yield* withActor(actor.id)(
          audit.append({ action: "test.optional", targetId, metadata: absent, actorId: absent })
        )
        assert.deepStrictEqual(log.actorId, Option.some(actor.id), "undefined actorId: the CurrentActor")
        assert.deepStrictEqual(log.metadata, {})
        const listed = yield* audit.list({ targetId, actorId: absent, action: absent, from: absent, to: absent })
        assert.deepStrictEqual(
          listed.items.map((item) => item.id),
          [log.id]
        )
      })
    )
  })
