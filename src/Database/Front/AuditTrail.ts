import { Array as Arr, Effect, Option } from "effect"
import {
  AuditAction,
  type AuditEvent,
  AuditLog,
  type AuditMetadata,
  type AuditTargetId,
  CurrentActor,
  newAuditLogId,
  type UserId
} from "../../Domain/index.ts"
import { countAuditRecords } from "../Telemetry/MetricsSwitch.ts"
import type { LinkEvents } from "./AuditEvents.ts"
import { checkId, type IdRule, orNotFound } from "./RepositoryInputs.ts"
import type { LinkChange, LinkStore, RepositoryStore, RowRef, StoreFailure } from "./RepositoryStore.ts"

/** A validated audit entry: `actorId` undefined means the calling fiber's `CurrentActor`, `null` the system. */
export interface AuditEntryFields {
  readonly action: AuditAction
  readonly targetId?: AuditTargetId
  readonly metadata?: AuditMetadata
  readonly actorId?: UserId | null
}

/**
 * The row of an audit entry that the input schema has validated (`decodeAuditEntry`), with a fresh UUIDv7 id:
 * built as `AuditLog.insert.make` builds it, without checking every field (and measuring the metadata) again.
 */
export const decodedAuditRow = Effect.fnUntraced(function* (entry: AuditEntryFields) {
  const actorId = entry.actorId === undefined ? yield* CurrentActor : Option.fromNullishOr(entry.actorId)
  const row: typeof AuditLog.insert.Type = {
    id: yield* newAuditLogId,
    actorId,
    action: entry.action,
    targetId: Option.fromUndefinedOr(entry.targetId),
    metadata: entry.metadata ?? {}
  }
  return row
})

/**
 * `decodedAuditRow` of every entry, in one effect: the calling actor read once, not once per entry (an
 * `appendMany` of 1,000 entries ran 1,000 generators of three steps each).
 */
export const decodedAuditRows = (entries: ReadonlyArray<AuditEntryFields>) =>
  Effect.gen(function* () {
    const caller = yield* CurrentActor
    const rows: Array<typeof AuditLog.insert.Type> = new Array(entries.length)
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index]!
      rows[index] = {
        id: yield* newAuditLogId,
        actorId: entry.actorId === undefined ? caller : Option.fromNullishOr(entry.actorId),
        action: entry.action,
        targetId: Option.fromUndefinedOr(entry.targetId),
        metadata: entry.metadata ?? {}
      }
    }
    return rows
  })

/** The row of an audit entry made by the library itself (an event), validated by `AuditLog.insert.make`. */
export const auditRow = (entry: AuditEntryFields) =>
  Effect.map(decodedAuditRow(entry), (row) => AuditLog.insert.make(row))

/** How a link statement names its ends, and the NotFound of each when it names no row. */
export interface LinkEndRule<Id extends string, Key, NotFound> {
  readonly id: IdRule<Id, NotFound>
  readonly keyNotFound: (key: Key) => NotFound
}

const endNotFound = <Id extends string, Key, NotFound>(rule: LinkEndRule<Id, Key, NotFound>, ref: RowRef<Id, Key>) =>
  "id" in ref ? rule.id.notFound(ref.id) : rule.keyNotFound(ref.key)

/** Audited changes: each change and its records, as the calling actor, in one transaction of the store. */
export const makeAuditTrail = (store: RepositoryStore["Service"]) => {
  /** Writes the records of `events` as the calling actor, in one statement; none writes nothing. */
  const record = (events: ReadonlyArray<AuditEvent>) =>
    Effect.flatMap(
      Effect.forEach(events, (event) =>
        auditRow({ action: AuditAction.make(event.action), targetId: event.targetId, metadata: event.metadata })
      ),
      (rows) =>
        Arr.isReadonlyArrayNonEmpty(rows)
          ? Effect.andThen(store.auditLogs.insert(rows), countAuditRecords(rows.length))
          : Effect.void
    )

  /**
   * Runs `change` and records the events `eventsOf` gives for its result, in one transaction (a savepoint
   * inside a caller's): the change and its records commit or roll back together. A change that changed
   * nothing gives no event and records nothing.
   */
  const audited = <A, E, R>(change: Effect.Effect<A, E, R>, eventsOf: (result: A) => ReadonlyArray<AuditEvent>) =>
    store.transaction(Effect.tap(change, (result) => record(eventsOf(result))))

  /**
   * Deletes the row `id` names with `remove` and records `eventOf` the deleted row, in one transaction. A
   * malformed id (checked before the store is asked) or no such row fails with the rule's NotFound, an id
   * that is not even a string with `InvalidInput`.
   */
  const auditedDelete = <Id extends string, NotFound, A, E, R>(
    rule: IdRule<Id, NotFound>,
    id: unknown,
    remove: (id: Id) => Effect.Effect<Option.Option<A>, E, R>,
    eventOf: (deleted: A) => AuditEvent
  ) =>
    Effect.flatMap(checkId(rule, "id", id), (validId) =>
      audited(orNotFound(rule, validId, remove(validId)), (deleted) => [eventOf(deleted)])
    )

  /**
   * Adding and removing links (assignRole/removeRole, grant/revoke, by id or by key): an end that names no
   * row fails with its NotFound, and only an actual change is recorded, in the same transaction, so the
   * operations are idempotent. The ends' ids and keys have been checked by the caller.
   */
  const linkChanges = <
    HolderId extends string,
    HeldId extends string,
    HolderKey,
    HeldKey,
    HolderNotFound,
    HeldNotFound
  >(spec: {
    readonly links: LinkStore<HolderId, HeldId, HolderKey, HeldKey>
    readonly holder: LinkEndRule<HolderId, HolderKey, HolderNotFound>
    readonly held: LinkEndRule<HeldId, HeldKey, HeldNotFound>
    readonly events: LinkEvents<HolderId, HeldId>
  }) => {
    const change =
      (
        eventOf: LinkEvents<HolderId, HeldId>["added"],
        statement: (
          holder: RowRef<HolderId, HolderKey>,
          held: RowRef<HeldId, HeldKey>
        ) => Effect.Effect<LinkChange<HolderId, HeldId>, StoreFailure>
      ) =>
      (holderRef: RowRef<HolderId, HolderKey>, heldRef: RowRef<HeldId, HeldKey>) =>
        Effect.asVoid(
          audited(
            Effect.gen(function* () {
              const { holder, held, changed } = yield* statement(holderRef, heldRef)
              if (holder === null) return yield* Effect.fail(endNotFound(spec.holder, holderRef))
              if (held === null) return yield* Effect.fail(endNotFound(spec.held, heldRef))
              return {
                link: { holderId: holder.id, holderLabel: holder.label, heldId: held.id, heldLabel: held.label },
                changed
              }
            }),
            ({ link, changed }) => (changed ? [eventOf(link)] : [])
          )
        )
    return { add: change(spec.events.added, spec.links.add), remove: change(spec.events.removed, spec.links.remove) }
  }

  return { record, audited, auditedDelete, linkChanges } as const
}
