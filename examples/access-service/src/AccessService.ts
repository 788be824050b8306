import { Context, Effect, Layer } from "effect"
import {
  AuditLogRepository,
  type DatabaseUnavailable,
  type InvalidInput,
  Transactions,
  type UserId,
  UserRepository
} from "platform-kernel"

/** Answers "may this user do that?" and keeps a record of every question asked. */
export class AccessService extends Context.Service<
  AccessService,
  {
    /**
     * Whether `userId` holds `permission` (`module.resource.action`) through one of its roles; false for an
     * unknown user. Audited as `access.checked` (target: the permission), by the calling fiber's actor.
     */
    readonly check: (userId: UserId, permission: string) => Effect.Effect<boolean, InvalidInput | DatabaseUnavailable>
  }
>()("access-service/AccessService") {
  /** Needs `UserRepository`, `AuditLogRepository` and `Transactions`: PostgreSQL or `MemoryDatabase.layer`. */
  static readonly layer = Layer.effect(
    AccessService,
    Effect.gen(function* () {
      const users = yield* UserRepository
      const audit = yield* AuditLogRepository
      const transactions = yield* Transactions

      const check = Effect.fn("AccessService.check")(function* (userId: UserId, permission: string) {
        // One transaction: an answer is never given without its record, nor recorded without being given.
        return yield* transactions.withTransaction(
          Effect.gen(function* () {
            const allowed = yield* users.hasPermission(userId, permission)
            yield* audit.append({ action: "access.checked", targetId: permission, metadata: { userId, allowed } })
            return allowed
          })
        )
      })

      return AccessService.of({ check })
    })
  )
}
