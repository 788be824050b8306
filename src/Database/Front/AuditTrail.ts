import { Effect, Option } from "effect"
import {
  type AuditAction,
  AuditLog,
  type AuditMetadata,
  type AuditTargetId,
  CurrentActor,
  newAuditLogId,
  type UserId
} from "../../Domain/index.ts"
import type { AuditEvent, ChangedLink } from "./AuditEvents.ts"
import { checkId, type IdRule, orNotFound } from "./RepositoryInputs.ts"
import type { LinkChange, LinkStore, RepositoryStore, StoreFailure } from "./RepositoryStore.ts"

/** A validated audit entry: `actorId` undefined means the calling fiber's `CurrentActor`, `null` the system. */
export interface AuditEntryFields {
  readonly action: AuditAction
  readonly targetId?: AuditTargetId
  readonly metadata?: AuditMetadata
  readonly actorId?: UserId | null
}

/** The row of an audit entry, with a fresh UUIDv7 id. */
export const auditRow = Effect.fnUntraced(function* (entry: AuditEntryFields) {
  const actorId = entry.actorId === undefined ? yield* CurrentActor : Option.fromNullishOr(entry.actorId)
  return AuditLog.insert.make({
    id: yield* newAuditLogId,
    actorId,
    action: entry.action,
    targetId: Option.fromUndefinedOr(entry.targetId),
    metadata: entry.metadata ?? {}
  })
})

/** Audited changes: each change and its record, as the calling actor, in one transaction of the store. */
export const makeAuditTrail = (store: RepositoryStore["Service"]) => {
  const record = (event: AuditEvent) => Effect.flatMap(auditRow(event), (row) => store.auditLogs.insert([row]))

  /**
   * Runs `change` and, when `eventOf` gives an event for its result, records it, in one transaction (a
   * savepoint inside a caller's): the change and its record commit or roll back together. Idempotent no-ops
   * give `None` and record nothing.
   */
  const audited = <A, E, R>(change: Effect.Effect<A, E, R>, eventOf: (result: A) => Option.Option<AuditEvent>) =>
    store.transaction(
      Effect.tap(change, (result) =>
        Option.match(eventOf(result), { onNone: () => Effect.void, onSome: (event) => record(event) })
      )
    )

  /**
   * Deletes the row `id` names with `remove` and records `eventOf` the deleted row, in one transaction. A
   * malformed id (checked before the store is asked) or no such row fails with the rule's NotFound.
   */
  const auditedDelete = <Id extends string, NotFound, A, E, R>(
    rule: IdRule<Id, NotFound>,
    id: string,
    remove: (id: Id) => Effect.Effect<Option.Option<A>, E, R>,
    eventOf: (deleted: A) => AuditEvent
  ) =>
    Effect.flatMap(checkId(rule, id), (validId) =>
      audited(orNotFound(rule, validId, remove(validId)), (deleted) => Option.some(eventOf(deleted)))
    )

  /**
   * assignRole/removeRole and grant/revoke: malformed ids fail with their end's NotFound before the store is
   * asked, a missing end fails with its NotFound, and only an actual change is audited (with `added` or
   * `removed`), in the same transaction, so the operations are idempotent.
   */
  const linkChanges = <HolderId extends string, HeldId extends string, HolderNotFound, HeldNotFound>(spec: {
    readonly links: LinkStore<HolderId, HeldId>
    readonly holder: IdRule<HolderId, HolderNotFound>
    readonly held: IdRule<HeldId, HeldNotFound>
    readonly added: AuditAction
    readonly removed: AuditAction
    readonly eventOf: (action: AuditAction, link: ChangedLink<HolderId, HeldId>) => AuditEvent
  }) => {
    const change =
      (
        action: AuditAction,
        statement: (holderId: HolderId, heldId: HeldId) => Effect.Effect<LinkChange, StoreFailure>
      ) =>
      (holderArgument: string, heldArgument: string) =>
        Effect.gen(function* () {
          const holderId = yield* checkId(spec.holder, holderArgument)
          const heldId = yield* checkId(spec.held, heldArgument)
          yield* audited(
            Effect.gen(function* () {
              const found = yield* statement(holderId, heldId)
              if (found.holderLabel === null) return yield* Effect.fail(spec.holder.notFound(holderId))
              if (found.heldLabel === null) return yield* Effect.fail(spec.held.notFound(heldId))
              const link = { holderId, holderLabel: found.holderLabel, heldId, heldLabel: found.heldLabel }
              return { link, changed: found.changed }
            }),
            ({ link, changed }) => (changed ? Option.some(spec.eventOf(action, link)) : Option.none())
          )
        })
    return { add: change(spec.added, spec.links.add), remove: change(spec.removed, spec.links.remove) }
  }

  return { audited, auditedDelete, linkChanges } as const
}
