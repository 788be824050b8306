import { assert, describe } from "@effect/vitest"
import { Effect, Option, Schema, Stream } from "effect"
import { AuditLogRepository } from "../../src/Database/Repositories/AuditLogRepository.ts"
import { PermissionRepository } from "../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../src/Database/Repositories/RoleRepository.ts"
import { UserRepository } from "../../src/Database/Repositories/UserRepository.ts"
import { AuditActions, AuditMetadataSchemas, decodeAuditEvent, isKernelAuditAction } from "../../src/Domain/index.ts"
import { type ContractIt, makeHash, newPermission, newRole, newUser, uniqueEmail, uniqueRoleName } from "./Fixtures.ts"

// Makes the repositories write a record of every action of the vocabulary.
const everyAction = Effect.gen(function* () {
  const users = yield* UserRepository
  const roles = yield* RoleRepository
  const permissions = yield* PermissionRepository
  const user = yield* newUser()
  yield* users.update(user.id, { email: uniqueEmail(), passwordHash: makeHash(), verified: true })
  const role = yield* newRole()
  yield* roles.update(role.id, { name: uniqueRoleName(), description: "changed" })
  const permission = yield* newPermission()
  yield* users.assignRole(user.id, role.id)
  yield* users.removeRole(user.id, role.id)
  yield* roles.grant(role.id, permission.id)
  yield* roles.revoke(role.id, permission.id)
  yield* users.delete(user.id)
  yield* roles.delete(role.id)
  yield* permissions.delete(permission.id)
})

export const vocabularyContract = (it: ContractIt) =>
  describe("the audit vocabulary", () => {
    // Runs last in the suite, so it also reads the records of every test before it.
    it.effect("every record the repositories wrote decodes with its action's metadata schema, exactly", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLogRepository
        yield* everyAction
        yield* audit.append({ action: "billing.invoice.sent", metadata: { invoice: 1 } })
        const seen = new Set<string>()
        let others = 0
        yield* Stream.runForEach(audit.stream({ limit: 500 }), (log) =>
          Effect.gen(function* () {
            const action: string = log.action
            if (!isKernelAuditAction(action)) {
              others++
              assert.isTrue(Option.isNone(yield* decodeAuditEvent(log)))
              return
            }
            seen.add(action)
            // No field beyond the schema's: what is recorded is what is documented.
            yield* Schema.decodeUnknownEffect(AuditMetadataSchemas[action])(log.metadata, {
              onExcessProperty: "error"
            }).pipe(
              Effect.mapError((error) => new Error(`${action} ${JSON.stringify(log.metadata)}: ${error}`)),
              Effect.orDie
            )
            const event = Option.getOrThrow(yield* Effect.orDie(decodeAuditEvent(log)))
            assert.strictEqual(event.action, action)
            assert.strictEqual(event.targetId, Option.getOrThrow(log.targetId))
          })
        )
        assert.sameMembers([...seen], Object.values(AuditActions))
        assert.isAtLeast(others, 1)
      })
    )
  })
