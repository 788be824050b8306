import type { DateTime } from "effect"
import type { NamedRowStore, PageQuery } from "../Front/RepositoryStore.ts"
import type { TableOperations } from "./MemoryTable.ts"

/** What `roles` and `permissions` share in the `MemoryStore`: rows with a unique name, stamped with `now()`. */
export const makeNamedRowStoreMemory = <
  Row extends { readonly id: Id; readonly name: Name },
  Insert extends { readonly name: Name },
  Id extends string,
  Name extends string,
  Query extends PageQuery<Name>
>(
  rows: TableOperations<Id, Row>,
  spec: {
    readonly make: (row: Insert, createdAt: DateTime.Utc) => Row
    /** What `list` keeps besides the page. */
    readonly matches?: (row: Row, query: Query) => boolean
  }
): NamedRowStore<Row, Insert, Id, Name, Query> => ({
  insert: (row) => rows.insert(row.name, (now) => spec.make(row, now)),
  insertOrGetAll: (all) =>
    rows.insertOrGetAll(all.map((row) => ({ key: row.name, make: (now) => spec.make(row, now) }))),
  findById: rows.findById,
  findByName: rows.findByKey,
  list: (query) =>
    rows.page(
      query,
      (row) => row.name,
      (row) => spec.matches?.(row, query) ?? true
    ),
  delete: rows.delete
})
