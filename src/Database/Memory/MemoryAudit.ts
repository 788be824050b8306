import { Effect, HashMap, Option } from "effect"
import {
  type AuditAction,
  AuditLog,
  type AuditMetadata,
  type AuditTargetId,
  CurrentActor,
  newAuditLogId,
  type UserId
} from "../../Domain/index.ts"
import type { AuditEvent } from "../Repositories/AuditEvents.ts"
import { checkId, type IdRule } from "../Repositories/RepositoryInputs.ts"
import type { MemoryStore, MemoryTables } from "./MemoryStore.ts"

/** A validated audit entry, ready to be stamped and stored. */
export interface AuditEntry {
  readonly action: AuditAction
  readonly targetId: Option.Option<AuditTargetId>
  readonly metadata: AuditMetadata
  /** `undefined`: the calling fiber's `CurrentActor`; `None`: the system. */
  readonly actorId: Option.Option<UserId> | undefined
}

// What jsonb keeps: a copy the caller cannot mutate afterwards, without `undefined` members. (jsonb also
// reorders keys, which no comparison of parsed objects can observe.)
const asJsonb = (metadata: AuditMetadata): AuditMetadata => JSON.parse(JSON.stringify(metadata))

/**
 * An audit row as PostgreSQL would store it: a UUIDv7 id, the actor of the calling fiber unless given, and
 * the transaction's start time (`DEFAULT now()`).
 */
export const makeAuditLog = (store: MemoryStore["Service"], entry: AuditEntry): Effect.Effect<AuditLog> =>
  Effect.gen(function* () {
    const actorId = entry.actorId ?? (yield* CurrentActor)
    return new AuditLog({
      id: yield* newAuditLogId,
      // A uuid column gives ids back in lower case, whatever the case they were written in.
      actorId: Option.map(actorId, (id) => id.toLowerCase() as UserId),
      action: entry.action,
      targetId: entry.targetId,
      metadata: asJsonb(entry.metadata),
      timestamp: yield* store.transactionTime
    })
  })

export const insertAuditLogs = (tables: MemoryTables, logs: ReadonlyArray<AuditLog>): MemoryTables => ({
  ...tables,
  auditLogs: logs.reduce((map, log) => HashMap.set(map, log.id, log), tables.auditLogs)
})

/** The memory twin of the PostgreSQL audit trail (AuditTrail.ts): each change and its record in one write. */
export const makeMemoryAuditTrail = (store: MemoryStore["Service"]) => {
  /**
   * `change` and, when `eventOf` gives an event for its result, the audit record of the calling actor, as
   * one atomic write.
   */
  const audited = <A, E, R>(
    change: (tables: MemoryTables) => Effect.Effect<readonly [A, MemoryTables], E, R>,
    eventOf: (result: A) => Option.Option<AuditEvent>
  ): Effect.Effect<A, E, R> =>
    store.update((tables) =>
      Effect.gen(function* () {
        const [result, changed] = yield* change(tables)
        const event = eventOf(result)
        if (Option.isNone(event)) return [result, changed] as const
        const log = yield* makeAuditLog(store, {
          action: event.value.action,
          targetId: Option.some(event.value.targetId),
          metadata: event.value.metadata,
          actorId: undefined
        })
        return [result, insertAuditLogs(changed, [log])] as const
      })
    )

  /**
   * Removes the row `id` names (`without` also drops what cascades with it) and records `eventOf` the
   * deleted row, as one atomic write. A malformed id or no such row fails with the rule's NotFound.
   */
  const auditedDelete = <Id extends string, NotFound, Row>(
    rule: IdRule<Id, NotFound>,
    id: string,
    find: (tables: MemoryTables, id: Id) => Option.Option<Row>,
    without: (tables: MemoryTables, id: Id) => MemoryTables,
    eventOf: (deleted: Row) => AuditEvent
  ): Effect.Effect<Row, NotFound> =>
    Effect.gen(function* () {
      const validId = yield* checkId(rule, id)
      return yield* audited(
        (tables) =>
          Option.match(find(tables, validId), {
            onNone: () => Effect.fail(rule.notFound(validId)),
            onSome: (row) => Effect.succeed([row, without(tables, validId)] as const)
          }),
        (deleted) => Option.some(eventOf(deleted))
      )
    })

  return { audited, auditedDelete } as const
}
