import { type DateTime, Effect, HashMap, Option, Schema } from "effect"
import type { Permission, PermissionId, Role, RoleId, User, UserId } from "../../Domain/index.ts"
import type { EncodedRow } from "../Entity/EntityStore.ts"
import type { MemoryRowSlot } from "../Entity/EntityStoreMemory.ts"
import { type Changed, KeyTaken } from "../Front/RepositoryStore.ts"
import { findValue, pageAfter, withoutPermission, withoutRole, withoutUser } from "./MemoryRelations.ts"
import type { MemoryStore, MemoryTables } from "./MemoryStore.ts"

/**
 * A table of rows with a unique key besides the id: `users` (the e-mail), `roles` and `permissions` (the name).
 * `users` is read and written by `makeTableOperations`; `roles` and `permissions` by the entity kit
 * (`kernelTableSlot`); the links and relations read all three.
 */
export interface MemoryTable<Id extends string, Row extends { readonly id: Id }> {
  readonly rows: (tables: MemoryTables) => HashMap.HashMap<Id, Row>
  readonly withRows: (tables: MemoryTables, rows: HashMap.HashMap<Id, Row>) => MemoryTables
  /** Whether `row` holds the unique key `key`, as the table's UNIQUE constraint compares them. */
  readonly holdsKey: (row: Row, key: string) => boolean
  /** `tables` without the row `id` and what cascades with it (ON DELETE CASCADE). */
  readonly without: (tables: MemoryTables, id: Id) => MemoryTables
}

export const usersTable: MemoryTable<UserId, User> = {
  rows: (tables) => tables.users,
  withRows: (tables, users) => ({ ...tables, users }),
  // citext: equal when equal ignoring case (Email already lower-cases, this keeps the rule explicit).
  holdsKey: (user, email) => user.email.toLowerCase() === email.toLowerCase(),
  without: withoutUser
}

export const rolesTable: MemoryTable<RoleId, Role> = {
  rows: (tables) => tables.roles,
  withRows: (tables, roles) => ({ ...tables, roles }),
  holdsKey: (role, name) => role.name === name,
  without: withoutRole
}

export const permissionsTable: MemoryTable<PermissionId, Permission> = {
  rows: (tables) => tables.permissions,
  withRows: (tables, permissions) => ({ ...tables, permissions }),
  holdsKey: (permission, name) => permission.name === name,
  without: withoutPermission
}

/** The row of `table` that holds the unique key `key`. */
export const rowByKey = <Id extends string, Row extends { readonly id: Id }>(
  table: MemoryTable<Id, Row>,
  tables: MemoryTables,
  key: string
): Option.Option<Row> => findValue(table.rows(tables), (row) => table.holdsKey(row, key))

/**
 * A kernel table as the entity kit's memory store sees it: the table keeps its decoded rows (what the memory
 * relations, links and access checks read), the kit reads and writes them in their encoded form (`Model`'s).
 */
export const kernelTableSlot = <Id extends string, Row extends { readonly id: Id }>(
  table: MemoryTable<Id, Row>,
  Model: Schema.Top & { readonly Type: NoInfer<Row> }
): MemoryRowSlot => {
  const encodeRow = Schema.encodeSync(Model as Schema.Codec<Row, EncodedRow>)
  // Rows are immutable values: each is encoded once, not at every scan of the table.
  const encodedRows = new WeakMap<Row, EncodedRow>()
  const encode = (row: Row): EncodedRow => {
    const known = encodedRows.get(row)
    if (known !== undefined) return known
    const encoded = encodeRow(row)
    encodedRows.set(row, encoded)
    return encoded
  }
  const decode = Schema.decodeUnknownSync(Model as Schema.Codec<Row, EncodedRow>)
  return {
    get: (tables, id) => Option.map(HashMap.get(table.rows(tables), id as Id), (row) => encode(row)),
    values: (tables) => [...HashMap.values(table.rows(tables))].map((row) => encode(row)),
    has: (tables, id) => HashMap.has(table.rows(tables), id as Id),
    set: (tables, id, row) => table.withRows(tables, HashMap.set(table.rows(tables), id as Id, decode(row))),
    remove: (tables, id) => table.without(tables, id as Id)
  }
}

/** The reads and atomic writes of one `MemoryTable` of `store`. */
export const makeTableOperations = <Id extends string, Row extends { readonly id: Id }>(
  store: MemoryStore["Service"],
  table: MemoryTable<Id, Row>
) => {
  const byKey = (tables: MemoryTables, key: string) => rowByKey(table, tables, key)

  const put = (tables: MemoryTables, row: Row): MemoryTables =>
    table.withRows(tables, HashMap.set(table.rows(tables), row.id, row))

  /** The row `make` builds, stamped with the transaction's time (`now()`); a taken `key` fails with `KeyTaken`. */
  const insert = (key: string, make: (now: DateTime.Utc) => Row) =>
    store.update(
      Effect.fnUntraced(function* (tables: MemoryTables) {
        if (Option.isSome(byKey(tables, key))) return yield* new KeyTaken()
        const row = make(yield* store.transactionTime)
        return [row, put(tables, row)] as const
      })
    )

  /** The row `id` before and after `change` makes it from the current one; `None` when there is none. */
  const update = (id: Id, key: string | undefined, change: (current: Row) => Effect.Effect<Row>) =>
    store.update(
      Effect.fnUntraced(function* (tables: MemoryTables) {
        const current = HashMap.get(table.rows(tables), id)
        if (Option.isNone(current)) return [Option.none<Changed<Row>>(), tables] as const
        const holder = key === undefined ? Option.none() : byKey(tables, key)
        if (Option.isSome(holder) && holder.value.id !== id) return yield* new KeyTaken()
        const row = yield* change(current.value)
        return [Option.some({ before: current.value, after: row }), put(tables, row)] as const
      })
    )

  const delete_ = (id: Id) =>
    store.update((tables: MemoryTables) =>
      Effect.succeed(
        Option.match(HashMap.get(table.rows(tables), id), {
          onNone: () => [Option.none<Row>(), tables] as const,
          onSome: (row) => [Option.some(row), table.without(tables, id)] as const
        })
      )
    )

  return {
    insert,
    findById: (id: Id) => Effect.map(store.read, (tables) => HashMap.get(table.rows(tables), id)),
    findByKey: (key: string) => Effect.map(store.read, (tables) => byKey(tables, key)),
    /** The rows `filter` keeps, as `pageAfter` pages them by `keyOf`. */
    page: (
      query: { readonly after: string | undefined; readonly limit: number },
      keyOf: (row: Row) => string,
      filter: (row: Row) => boolean = () => true
    ) =>
      Effect.map(store.read, (tables) =>
        pageAfter([...HashMap.values(table.rows(tables))].filter(filter), keyOf, query)
      ),
    update,
    delete: delete_
  }
}

export type TableOperations<Id extends string, Row extends { readonly id: Id }> = ReturnType<
  typeof makeTableOperations<Id, Row>
>
