import { Array as Arr, type DateTime, Effect, HashMap, Option } from "effect"
import type { BulkLinkStore, LinkChanges, LinkEnd, RowRef } from "../Front/RepositoryStore.ts"
import { linkKey, type MemoryStore, type MemoryTables } from "./MemoryStore.ts"
import { type MemoryTable, rowByKey } from "./MemoryTable.ts"

/** One end of a link: its table, and the label (e-mail or name) of its rows in the audit record. */
export interface LinkEndTable<Id extends string, Row extends { readonly id: Id }> {
  readonly table: MemoryTable<Id, Row>
  readonly label: (row: Row) => string
}

/** A link table of the store (keyed by `linkKey(holderId, heldId)`) and its two ends. */
export interface LinkTable<
  HolderId extends string,
  HeldId extends string,
  HolderRow extends { readonly id: HolderId },
  HeldRow extends { readonly id: HeldId },
  Row
> {
  readonly holder: LinkEndTable<HolderId, HolderRow>
  readonly held: LinkEndTable<HeldId, HeldRow>
  readonly rows: (tables: MemoryTables) => HashMap.HashMap<string, Row>
  readonly withRows: (tables: MemoryTables, rows: HashMap.HashMap<string, Row>) => MemoryTables
  readonly makeRow: (holderId: HolderId, heldId: HeldId, createdAt: DateTime.Utc) => Row
}

/** The row `ref` names, as the link statements read it: by id or by unique key. */
const findEnd = <Id extends string, Row extends { readonly id: Id }>(
  end: LinkEndTable<Id, Row>,
  tables: MemoryTables,
  ref: RowRef<Id, string>
): LinkEnd<Id> | null => {
  const row = "id" in ref ? HashMap.get(end.table.rows(tables), ref.id) : rowByKey(end.table, tables, ref.key)
  return Option.match(row, { onNone: () => null, onSome: (found) => ({ id: found.id, label: end.label(found) }) })
}

/**
 * Adds or removes links in one atomic write each, reading both ends as the PostgreSQL statements do: adding
 * keeps an existing link (ON CONFLICT DO NOTHING), removing an absent one changes nothing, and nothing
 * changes when an end is missing.
 */
export const makeLinkStoreMemory = <
  HolderId extends string,
  HeldId extends string,
  HolderRow extends { readonly id: HolderId },
  HeldRow extends { readonly id: HeldId },
  Row,
  HolderKey extends string,
  HeldKey extends string
>(
  store: MemoryStore["Service"],
  links: LinkTable<HolderId, HeldId, HolderRow, HeldRow, Row>
): BulkLinkStore<HolderId, HeldId, HolderKey, HeldKey> => {
  const linked = (tables: MemoryTables, holderId: HolderId, heldId: HeldId) =>
    HashMap.has(links.rows(tables), linkKey(holderId, heldId))

  const withLink = (tables: MemoryTables, holderId: HolderId, heldId: HeldId, createdAt: DateTime.Utc) =>
    links.withRows(
      tables,
      HashMap.set(links.rows(tables), linkKey(holderId, heldId), links.makeRow(holderId, heldId, createdAt))
    )

  const change =
    (apply: (tables: MemoryTables, holderId: HolderId, heldId: HeldId, now: DateTime.Utc) => MemoryTables | null) =>
    (holderRef: RowRef<HolderId, HolderKey>, heldRef: RowRef<HeldId, HeldKey>) =>
      store.update(
        Effect.fnUntraced(function* (tables: MemoryTables) {
          const holder = findEnd(links.holder, tables, holderRef)
          const held = findEnd(links.held, tables, heldRef)
          const changed =
            holder === null || held === null ? null : apply(tables, holder.id, held.id, yield* store.transactionTime)
          return [{ holder, held, changed: changed !== null }, changed ?? tables] as const
        })
      )

  return {
    add: change((tables, holderId, heldId, now) =>
      linked(tables, holderId, heldId) ? null : withLink(tables, holderId, heldId, now)
    ),
    remove: change((tables, holderId, heldId) =>
      linked(tables, holderId, heldId)
        ? links.withRows(tables, HashMap.remove(links.rows(tables), linkKey(holderId, heldId)))
        : null
    ),
    addAll: (holderId, heldIds) =>
      store.update(
        Effect.fnUntraced(function* (tables: MemoryTables) {
          const holder = findEnd(links.holder, tables, { id: holderId })
          const now = yield* store.transactionTime
          let next = tables
          const held =
            holder === null
              ? []
              : Arr.dedupe(heldIds).flatMap((heldId) => {
                  const found = findEnd(links.held, tables, { id: heldId })
                  if (found === null) return []
                  const changed = !linked(next, holder.id, found.id)
                  if (changed) next = withLink(next, holder.id, found.id, now)
                  return [{ ...found, changed }]
                })
          const result: LinkChanges<HolderId, HeldId> = { holder, held }
          return [result, next] as const
        })
      )
  }
}
