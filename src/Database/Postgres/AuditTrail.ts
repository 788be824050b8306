import { Effect, Option } from "effect"
import { SqlClient } from "effect/sql"
import { CurrentActor, newAuditLogId } from "../../Domain/index.ts"
import type { AuditEvent } from "../Repositories/AuditEvents.ts"
import { checkId, type IdRule } from "../Repositories/RepositoryInputs.ts"

/** Audit writing shared by the repositories: the record goes in the same transaction as the change. */
export const makeAuditTrail = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  // The actor is read from the calling fiber; none means the system (NULL).
  const record = Effect.fnUntraced(function* (event: AuditEvent) {
    const actor = yield* CurrentActor
    const id = yield* newAuditLogId
    yield* sql`INSERT INTO audit_logs (id, actor_id, action, target_id, metadata)
      VALUES (${id}, ${Option.getOrNull(actor)}, ${event.action}, ${event.targetId}, ${JSON.stringify(event.metadata)})`
  })

  /**
   * Runs `change` and, when `eventOf` gives an event for its result, records it, all in one transaction
   * (a savepoint inside a caller's): the change and its record commit or roll back together. Idempotent
   * no-ops return `None` and record nothing.
   */
  const audited = <A, E, R>(change: Effect.Effect<A, E, R>, eventOf: (result: A) => Option.Option<AuditEvent>) =>
    sql.withTransaction(
      Effect.tap(change, (result) =>
        Option.match(eventOf(result), { onNone: () => Effect.void, onSome: (event) => record(event) })
      )
    )

  /**
   * Deletes the row `id` names with `remove` (a `DELETE ... RETURNING`) and records `eventOf` the deleted
   * row, in one transaction. A malformed id (checked before any SQL) or no such row fails with `NotFound`.
   */
  const auditedDelete = <Id extends string, NotFound, A, E, R>(
    rule: IdRule<Id, NotFound>,
    id: string,
    remove: (id: Id) => Effect.Effect<Option.Option<A>, E, R>,
    eventOf: (deleted: A) => AuditEvent
  ) =>
    Effect.gen(function* () {
      const validId = yield* checkId(rule, id)
      return yield* audited(
        Effect.flatMap(remove(validId), (deleted) =>
          Option.isNone(deleted) ? Effect.fail(rule.notFound(validId)) : Effect.succeed(deleted.value)
        ),
        (deleted) => Option.some(eventOf(deleted))
      )
    })

  return { record, audited, auditedDelete } as const
})

export type AuditTrail = Effect.Success<typeof makeAuditTrail>
