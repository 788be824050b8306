import { type DateTime, Effect, HashMap, Option } from "effect"
import type { LinkStore } from "../Front/RepositoryStore.ts"
import { linkKey, type MemoryStore, type MemoryTables } from "./MemoryStore.ts"

/** A link table of the store (keyed by `linkKey(holderId, heldId)`) and the labels of its two ends. */
export interface LinkTable<HolderId extends string, HeldId extends string, Row> {
  readonly holderLabel: (tables: MemoryTables, id: HolderId) => Option.Option<string>
  readonly heldLabel: (tables: MemoryTables, id: HeldId) => Option.Option<string>
  readonly rows: (tables: MemoryTables) => HashMap.HashMap<string, Row>
  readonly withRows: (tables: MemoryTables, rows: HashMap.HashMap<string, Row>) => MemoryTables
  readonly makeRow: (holderId: HolderId, heldId: HeldId, createdAt: DateTime.Utc) => Row
}

/**
 * Adds or removes a link in one atomic write, reading both ends as the PostgreSQL statement does: `add` keeps
 * an existing link (ON CONFLICT DO NOTHING), `remove` of an absent one changes nothing, and nothing changes
 * when an end is missing.
 */
export const makeLinkStoreMemory = <HolderId extends string, HeldId extends string, Row>(
  store: MemoryStore["Service"],
  links: LinkTable<HolderId, HeldId, Row>
): LinkStore<HolderId, HeldId> => {
  const change =
    (
      apply: (
        tables: MemoryTables,
        key: string,
        holderId: HolderId,
        heldId: HeldId
      ) => Effect.Effect<Option.Option<MemoryTables>>
    ) =>
    (holderId: HolderId, heldId: HeldId) =>
      store.update(
        Effect.fnUntraced(function* (tables: MemoryTables) {
          const holderLabel = Option.getOrNull(links.holderLabel(tables, holderId))
          const heldLabel = Option.getOrNull(links.heldLabel(tables, heldId))
          const changed =
            holderLabel === null || heldLabel === null
              ? Option.none()
              : yield* apply(tables, linkKey(holderId, heldId), holderId, heldId)
          return [
            { holderLabel, heldLabel, changed: Option.isSome(changed) },
            Option.getOrElse(changed, () => tables)
          ] as const
        })
      )

  return {
    add: change((tables, key, holderId, heldId) =>
      HashMap.has(links.rows(tables), key)
        ? Effect.succeedNone
        : Effect.map(store.transactionTime, (createdAt) =>
            Option.some(
              links.withRows(tables, HashMap.set(links.rows(tables), key, links.makeRow(holderId, heldId, createdAt)))
            )
          )
    ),
    remove: change((tables, key) =>
      Effect.succeed(
        HashMap.has(links.rows(tables), key)
          ? Option.some(links.withRows(tables, HashMap.remove(links.rows(tables), key)))
          : Option.none()
      )
    )
  }
}
