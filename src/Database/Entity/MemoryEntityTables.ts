import { HashMap, Option } from "effect"
import type { OnDelete } from "./Entity.ts"
import type { EncodedRow } from "./EntityStore.ts"

/** What the cascades read and write of the in-memory tables (`MemoryTables`, which imports this module). */
export interface WithEntityTables {
  readonly entities: ReadonlyMap<string, MemoryEntityTable>
}

/**
 * An entity's table in the `MemoryStore`: its rows in their encoded form (what PostgreSQL would hold), by
 * primary key, and the references the cascades of other tables' deletes follow.
 */
export interface MemoryEntityTable {
  readonly rows: HashMap.HashMap<string, EncodedRow>
  readonly primaryKey: string
  readonly references: ReadonlyArray<{ readonly field: string; readonly table: string; readonly onDelete: OnDelete }>
}

/**
 * `tables` after the rows `ids` of `table` are gone, for the entity tables referencing them: ON DELETE
 * CASCADE removes the referencing rows (and follows their own references), SET NULL clears the column,
 * RESTRICT refuses, naming the referencing table.
 */
export const cascade = <Tables extends WithEntityTables>(
  tables: Tables,
  table: string,
  ids: ReadonlySet<string>
): Tables | { readonly referencedBy: string } => {
  let next: Tables = tables
  for (const [name, entityTable] of tables.entities) {
    for (const reference of entityTable.references) {
      if (reference.table !== table) continue
      const referencing = [...HashMap.values(entityTable.rows)].filter((row) => ids.has(String(row[reference.field])))
      if (referencing.length === 0) continue
      if (reference.onDelete === "restrict") return { referencedBy: name }
      const current = next.entities.get(name)!
      let rows = current.rows
      for (const row of referencing) {
        const id = String(row[entityTable.primaryKey])
        // The row as the steps before left it (an earlier SET NULL of another column kept).
        const latest = HashMap.get(rows, id)
        if (Option.isNone(latest)) continue
        rows =
          reference.onDelete === "cascade"
            ? HashMap.remove(rows, id)
            : HashMap.set(rows, id, { ...latest.value, [reference.field]: null })
      }
      next = { ...next, entities: new Map(next.entities).set(name, { ...current, rows }) } as Tables
      if (reference.onDelete === "cascade") {
        const removed = new Set(referencing.map((row) => String(row[entityTable.primaryKey])))
        const deeper = cascade(next, name, removed)
        if ("referencedBy" in deeper) return deeper
        next = deeper
      }
    }
  }
  return next
}

/**
 * The ON DELETE of the entity tables referencing the kernel row `id` of `table`, for the kernel's own deletes.
 * A RESTRICT refuses the delete as PostgreSQL does (an error the kernel's repositories do not expect: a defect).
 */
export const withoutReferencing = <Tables extends WithEntityTables>(
  tables: Tables,
  table: string,
  id: string
): Tables => {
  if (tables.entities.size === 0) return tables
  const next = cascade(tables, table, new Set([id]))
  if ("referencedBy" in next)
    throw new Error(
      `delete on table "${table}" violates a foreign key of table "${next.referencedBy}" (ON DELETE RESTRICT)`
    )
  return next
}
