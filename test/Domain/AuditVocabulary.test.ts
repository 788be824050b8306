import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Exit, Option, Schema } from "effect"
import {
  AuditAction,
  AuditActions,
  AuditEvent,
  AuditLog,
  AuditLogId,
  AuditMetadataSchemas,
  decodeAuditEvent,
  isKernelAuditAction,
  UserId
} from "../../src/Domain/index.ts"

const userId = UserId.make("01890a5d-ac96-774b-bcce-b302099a8057")

const log = (action: string, metadata: Schema.JsonObject, targetId: string = userId) =>
  new AuditLog({
    id: AuditLogId.make("01890a5d-ac96-774b-bcce-b302099a8058"),
    actorId: Option.none(),
    action: AuditAction.make(action),
    targetId: Option.some(targetId),
    metadata,
    timestamp: DateTime.makeUnsafe(0)
  })

describe("the audit vocabulary", () => {
  it("has one metadata schema and one event schema per action", () => {
    const actions = Object.values(AuditActions)
    assert.sameMembers(Object.keys(AuditMetadataSchemas), actions)
    assert.strictEqual(AuditEvent.members.length, actions.length)
    for (const action of actions) {
      assert.isTrue(isKernelAuditAction(action))
      assert.isTrue(Schema.is(AuditAction)(action), `${action} is a valid action`)
    }
    assert.isFalse(isKernelAuditAction("billing.invoice.sent"))
  })

  it.effect("decodes a kernel record into its typed event", () =>
    Effect.gen(function* () {
      const decoded = yield* decodeAuditEvent(log("user.email_changed", { previousEmail: "a@x.io", email: "b@x.io" }))
      const event = Option.getOrThrow(decoded)
      assert.strictEqual(event.action, "user.email_changed")
      if (event.action === "user.email_changed") assert.strictEqual(event.metadata.previousEmail, "a@x.io")
      assert.strictEqual(event.targetId, userId)
    })
  )

  it.effect("gives None for an application's own action", () =>
    Effect.gen(function* () {
      assert.isTrue(Option.isNone(yield* decodeAuditEvent(log("billing.invoice.sent", { anything: 1 }))))
    })
  )

  it.effect("fails for a kernel record that does not have its action's shape", () =>
    Effect.gen(function* () {
      for (const bad of [
        log("user.password_changed", {}),
        log("user.verified_changed", { email: "a@x.io", verified: "yes" }),
        log("role.permission_granted", { roleName: "r", permissionId: "nope", permissionName: "a.b.c" }),
        log("user.deleted", { email: "a@x.io" }, "not-a-uuid")
      ]) {
        const exit = yield* Effect.exit(decodeAuditEvent(bad))
        assert.isTrue(Exit.isFailure(exit), bad.action)
      }
    })
  )
})
