import { Array as Arr, DateTime, Effect, HashMap, Option, Schema } from "effect"
import type { Changed, Ensured } from "../Front/RepositoryStore.ts"
import { makeAuditLogStoreMemory } from "../Memory/AuditLogStoreMemory.ts"
import type { MemoryStore, MemoryTables } from "../Memory/MemoryStore.ts"
import { compareText } from "../Memory/TextOrder.ts"
import type { AnyEntity, UniqueKey } from "./Entity.ts"
import {
  type EncodedRow,
  EntityBadValue,
  EntityKeyTaken,
  type EntityPageQuery,
  EntityReferenceMissing,
  EntityStillReferenced,
  type EntityStore,
  type EntityTable
} from "./EntityStore.ts"
import { cascade, type MemoryEntityTable } from "./MemoryEntityTables.ts"

/** Whether the kernel's or an entity's table holds the row `id`. */
const holds = (tables: MemoryTables, table: string, id: string): boolean => {
  switch (table) {
    case "users":
      return HashMap.has(tables.users, id as never)
    case "roles":
      return HashMap.has(tables.roles, id as never)
    case "permissions":
      return HashMap.has(tables.permissions, id as never)
    default: {
      const entityTable = tables.entities.get(table)
      return entityTable !== undefined && HashMap.has(entityTable.rows, id)
    }
  }
}

/** A value as a UNIQUE constraint compares it; `undefined` for NULL, which never conflicts. */
const keyText = (value: unknown): string | undefined =>
  value === null || value === undefined
    ? undefined
    : value instanceof Date
      ? `date:${value.getTime()}`
      : `${typeof value}:${String(value)}`

/** Whether `row` and `other` hold the same values of `key` (NULLs never do). */
const sameKey = (key: UniqueKey, row: EncodedRow, other: EncodedRow): boolean =>
  key.fields.every((field) => {
    const text = keyText(row[field])
    return text !== undefined && text === keyText(other[field])
  })

const compareValues = (left: unknown, right: unknown): number => {
  if (left instanceof Date && right instanceof Date) return left.getTime() - right.getTime()
  if (typeof left === "number" && typeof right === "number") return left - right
  if (typeof left === "boolean" && typeof right === "boolean") return Number(left) - Number(right)
  return compareText(String(left), String(right))
}

/** A cursor value (text) as the column's values compare (PostgreSQL casts it to the column's type). */
const fromText = (sqlType: string, text: string): unknown =>
  sqlType === "timestamptz"
    ? new Date(text)
    : sqlType === "integer" || sqlType === "bigint" || sqlType === "double precision"
      ? Number(text)
      : sqlType === "boolean"
        ? text === "true"
        : sqlType === "uuid"
          ? text.toLowerCase()
          : text

/**
 * Where an entity's rows live in the `MemoryTables`, in their encoded form (what PostgreSQL would hold), by
 * primary key: an entity's own table (`entityTableSlot`), or a kernel table keeping its decoded rows.
 */
export interface MemoryRowSlot {
  readonly get: (tables: MemoryTables, id: string) => Option.Option<EncodedRow>
  readonly values: (tables: MemoryTables) => Iterable<EncodedRow>
  readonly has: (tables: MemoryTables, id: string) => boolean
  readonly set: (tables: MemoryTables, id: string, row: EncodedRow) => MemoryTables
  /** `tables` without the row `id`, the rows referencing it following their ON DELETE. */
  readonly remove: (tables: MemoryTables, id: string) => MemoryTables | { readonly referencedBy: string }
}

/** The slot of an entity's own table in `tables.entities` (registered by `makeEntityStoreMemory`). */
export const entityTableSlot = (name: string): MemoryRowSlot => {
  const tableOf = (tables: MemoryTables): MemoryEntityTable => tables.entities.get(name)!
  const withRows = (tables: MemoryTables, rows: HashMap.HashMap<string, EncodedRow>): MemoryTables => ({
    ...tables,
    entities: new Map(tables.entities).set(name, { ...tableOf(tables), rows })
  })
  return {
    get: (tables, id) => HashMap.get(tableOf(tables).rows, id),
    values: (tables) => HashMap.values(tableOf(tables).rows),
    has: (tables, id) => HashMap.has(tableOf(tables).rows, id),
    set: (tables, id, row) => withRows(tables, HashMap.set(tableOf(tables).rows, id, row)),
    remove: (tables, id) => cascade(withRows(tables, HashMap.remove(tableOf(tables).rows, id)), name, new Set([id]))
  }
}

/**
 * The rows of one declared table in a `MemoryStore`, checked as PostgreSQL checks them (NOT NULL, unique keys,
 * references against the kernel's rows and other entities), wherever `slot` keeps them.
 */
export const makeEntityTableMemory = <E extends AnyEntity>(
  store: MemoryStore["Service"],
  entity: E,
  slot: MemoryRowSlot
): EntityTable<E["Model"]["Type"]> => {
  type Row = E["Model"]["Type"]
  const name = entity.qualifiedTable
  const pk = entity.primaryKey as string
  const typeOf = new Map(entity.columns.map((column) => [column.field, column.sqlType]))
  const decodeRow = Schema.decodeUnknownEffect(entity.Model as Schema.Decoder<Row>)
  const generated = entity.columns.filter((column) => column.generated)

  // uuids are stored in lower case, as PostgreSQL returns them.
  const normalised = (row: EncodedRow): EncodedRow => {
    const out: Record<string, unknown> = { ...row }
    for (const [field, value] of Object.entries(out))
      if (typeOf.get(field) === "uuid" && typeof value === "string") out[field] = value.toLowerCase()
    return out
  }

  /** The first rule `row` breaks among `others` and the database's rows, as PostgreSQL would report it. */
  const violation = (tables: MemoryTables, row: EncodedRow, others: Iterable<EncodedRow>) => {
    for (const column of entity.columns)
      if (!column.nullable && (row[column.field] === null || row[column.field] === undefined))
        return new EntityBadValue({ field: column.field, rule: "must not be null" })
    const rowId = String(row[pk])
    const otherRows = [...others]
    for (const other of otherRows) {
      if (String(other[pk]) === rowId) continue
      for (const key of entity.keys) if (sameKey(key, row, other)) return new EntityKeyTaken({ key })
    }
    for (const reference of entity.references) {
      const value = row[reference.field]
      if (value === null || value === undefined) continue
      const id = String(value)
      const inBatch = reference.table === name && otherRows.some((other) => String(other[pk]) === id)
      if (!inBatch && !holds(tables, reference.table, id)) return new EntityReferenceMissing({ reference, id })
    }
    return undefined
  }

  /** `row` as the database stores it: the columns it fills (a timestamp with the transaction's time, as DEFAULT now()). */
  const filled = (row: EncodedRow, now: Date): EncodedRow => {
    const out: Record<string, unknown> = { ...row }
    for (const column of generated) out[column.field] ??= column.sqlType === "timestamptz" ? now : null
    return normalised(out)
  }

  /** Adds `row` to `tables` (checked against the rows there and `batch`), or the rule it breaks. */
  const added = (tables: MemoryTables, row: EncodedRow, batch: ReadonlyArray<EncodedRow>) =>
    Effect.gen(function* () {
      const id = String(row[pk])
      if (slot.has(tables, id)) return yield* Effect.die(new Error(`${name}: duplicate primary key ${id}`))
      const failure = violation(tables, row, [...slot.values(tables), ...batch])
      if (failure !== undefined) return yield* failure
      return slot.set(tables, id, row)
    })

  const transactionDate = Effect.map(store.transactionTime, (now) => new Date(DateTime.toEpochMillis(now)))

  const insert = (rows: Arr.NonEmptyReadonlyArray<EncodedRow>) =>
    store.update(
      Effect.fnUntraced(function* (tables: MemoryTables) {
        const now = yield* transactionDate
        const written = rows.map((row) => filled(row, now))
        let next = tables
        for (const row of written) next = yield* added(next, row, written)
        const decoded = yield* Effect.forEach(written, (row) => decodeRow(row))
        return [decoded, next] as const
      })
    )

  const insertOrGet = (key: UniqueKey, rows: Arr.NonEmptyReadonlyArray<EncodedRow>) =>
    store.update(
      Effect.fnUntraced(function* (tables: MemoryTables) {
        const now = yield* transactionDate
        let next = tables
        const ensured: Array<Ensured<Row>> = []
        for (const given of rows) {
          const row = filled(given, now)
          const existing = Arr.findFirst([...slot.values(next)], (other) => sameKey(key, row, other))
          if (Option.isSome(existing)) {
            ensured.push({ row: yield* decodeRow(existing.value), created: false })
            continue
          }
          next = yield* added(next, row, [])
          ensured.push({ row: yield* decodeRow(row), created: true })
        }
        return [ensured, next] as const
      })
    )

  const findById = (id: string) =>
    Effect.flatMap(store.read, (tables) =>
      Option.match(slot.get(tables, id), {
        onNone: () => Effect.succeedNone,
        onSome: (row) => Effect.asSome(decodeRow(row))
      })
    )

  const findByKey = (key: UniqueKey, values: ReadonlyArray<unknown>) =>
    Effect.flatMap(store.read, (tables) => {
      const wanted = normalised(Object.fromEntries(key.fields.map((field, index) => [field, values[index]])))
      const found = Arr.findFirst([...slot.values(tables)], (row) => sameKey(key, row, wanted))
      return Option.match(found, { onNone: () => Effect.succeedNone, onSome: (row) => Effect.asSome(decodeRow(row)) })
    })

  const compareRows = (left: EncodedRow, right: EncodedRow): number => {
    for (const field of entity.order) {
      const order = compareValues(left[field], right[field])
      if (order !== 0) return order
    }
    return 0
  }

  const list = (query: EntityPageQuery) =>
    Effect.flatMap(store.read, (tables) => {
      const after =
        query.after === undefined
          ? undefined
          : Object.fromEntries(
              entity.order.map((field, index) => [field, fromText(typeOf.get(field) ?? "text", query.after![index]!)])
            )
      const where = query.where.map(
        ([field, value]) => [field, keyText(normalised({ [field]: value })[field])] as const
      )
      const prefixes = query.startsWith ?? []
      const rows = [...slot.values(tables)]
        .filter((row) => after === undefined || compareRows(row, after) > 0)
        .filter((row) => where.every(([field, text]) => text !== undefined && keyText(row[field]) === text))
        .filter((row) =>
          prefixes.every(
            ([field, prefix]) => typeof row[field] === "string" && (row[field] as string).startsWith(prefix)
          )
        )
        .sort(compareRows)
        .slice(0, query.limit)
      return Effect.forEach(rows, (row) => decodeRow(row))
    })

  const update = (id: string, changes: EncodedRow) =>
    store.update(
      Effect.fnUntraced(function* (tables: MemoryTables) {
        const current = slot.get(tables, id)
        if (Option.isNone(current)) return [Option.none<Changed<Row>>(), tables] as const
        const row = normalised({ ...current.value, ...changes })
        const failure = violation(tables, row, slot.values(tables))
        if (failure !== undefined) return yield* failure
        const before = yield* decodeRow(current.value)
        const after = yield* decodeRow(row)
        return [Option.some({ before, after }), slot.set(tables, id, row)] as const
      })
    )

  const delete_ = (id: string) =>
    store.update(
      Effect.fnUntraced(function* (tables: MemoryTables) {
        const current = slot.get(tables, id)
        if (Option.isNone(current)) return [Option.none<Row>(), tables] as const
        const next = slot.remove(tables, id)
        if ("referencedBy" in next) return yield* new EntityStillReferenced({ by: next.referencedBy })
        return [Option.some(yield* decodeRow(current.value)), next] as const
      })
    )

  return { insert, insertOrGet, findById, findByKey, list, update, delete: delete_ }
}

/**
 * The entity's store in the `MemoryStore` the kernel's memory repositories use: the same transactions (a
 * caller's `withTransaction` covers both), its table registered once.
 */
export const makeEntityStoreMemory = <E extends AnyEntity>(
  store: MemoryStore["Service"],
  entity: E
): Effect.Effect<EntityStore<E["Model"]["Type"]>> =>
  Effect.gen(function* () {
    const name = entity.qualifiedTable
    yield* store.update((tables) =>
      Effect.succeed([
        undefined,
        tables.entities.has(name)
          ? tables
          : {
              ...tables,
              entities: new Map(tables.entities).set(name, {
                rows: HashMap.empty(),
                primaryKey: entity.primaryKey as string,
                references: entity.references.map(({ field, table, onDelete }) => ({ field, table, onDelete }))
              })
            }
      ] as const)
    )
    const result: EntityStore<E["Model"]["Type"]> = {
      ...makeEntityTableMemory(store, entity, entityTableSlot(name)),
      auditLogs: makeAuditLogStoreMemory(store),
      transaction: store.transaction
    }
    return result
  })
