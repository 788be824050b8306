import { Array as Arr, DateTime, Effect, HashMap, Option, Schema } from "effect"
import type { Changed } from "../Front/RepositoryStore.ts"
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
  type EntityStore
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
 * The entity's store in the `MemoryStore` the kernel's memory repositories use: the same transactions (a
 * caller's `withTransaction` covers both), its rows checked as PostgreSQL checks them (NOT NULL, unique keys,
 * references against the kernel's rows and other entities), and its table registered once.
 */
export const makeEntityStoreMemory = <E extends AnyEntity>(
  store: MemoryStore["Service"],
  entity: E
): Effect.Effect<EntityStore<E["Model"]["Type"]>> =>
  Effect.gen(function* () {
    type Row = E["Model"]["Type"]
    const name = entity.qualifiedTable
    const pk = entity.primaryKey as string
    const typeOf = new Map(entity.columns.map((column) => [column.field, column.sqlType]))
    const decodeRow = Schema.decodeUnknownEffect(entity.Model as Schema.Decoder<Row>)
    const generated = entity.columns.filter((column) => column.generated)

    yield* store.update((tables) =>
      Effect.succeed([
        undefined,
        tables.entities.has(name)
          ? tables
          : {
              ...tables,
              entities: new Map(tables.entities).set(name, {
                rows: HashMap.empty(),
                primaryKey: pk,
                references: entity.references.map(({ field, table, onDelete }) => ({ field, table, onDelete }))
              })
            }
      ] as const)
    )

    const tableOf = (tables: MemoryTables): MemoryEntityTable => tables.entities.get(name)!
    const withRows = (tables: MemoryTables, rows: HashMap.HashMap<string, EncodedRow>): MemoryTables => ({
      ...tables,
      entities: new Map(tables.entities).set(name, { ...tableOf(tables), rows })
    })

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
      for (const other of others) {
        if (String(other[pk]) === rowId) continue
        for (const key of entity.keys) {
          const texts = key.fields.map((field) => keyText(row[field]))
          if (
            texts.every((text) => text !== undefined) &&
            key.fields.every((field, i) => keyText(other[field]) === texts[i])
          )
            return new EntityKeyTaken({ key })
        }
      }
      for (const reference of entity.references) {
        const value = row[reference.field]
        if (value === null || value === undefined) continue
        const id = String(value)
        const inBatch = reference.table === name && [...others].some((other) => String(other[pk]) === id)
        if (!inBatch && !holds(tables, reference.table, id)) return new EntityReferenceMissing({ reference, id })
      }
      return undefined
    }

    const insert = (rows: Arr.NonEmptyReadonlyArray<EncodedRow>) =>
      store.update(
        Effect.fnUntraced(function* (tables: MemoryTables) {
          let current = tableOf(tables).rows
          // The columns the database fills: a timestamp with the transaction's time, as DEFAULT now().
          const now = new Date(DateTime.toEpochMillis(yield* store.transactionTime))
          const written = rows.map((row) => {
            const filled: Record<string, unknown> = { ...row }
            for (const column of generated) filled[column.field] ??= column.sqlType === "timestamptz" ? now : null
            return normalised(filled)
          })
          for (const row of written) {
            const id = String(row[pk])
            if (HashMap.has(current, id)) return yield* Effect.die(new Error(`${name}: duplicate primary key ${id}`))
            const failure = violation(tables, row, [...HashMap.values(current), ...written])
            if (failure !== undefined) return yield* failure
            current = HashMap.set(current, id, row)
          }
          const decoded = yield* Effect.forEach(written, (row) => decodeRow(row))
          return [decoded, withRows(tables, current)] as const
        })
      )

    const findById = (id: string) =>
      Effect.flatMap(store.read, (tables) =>
        Option.match(HashMap.get(tableOf(tables).rows, id), {
          onNone: () => Effect.succeedNone,
          onSome: (row) => Effect.asSome(decodeRow(row))
        })
      )

    const findByKey = (key: UniqueKey, values: ReadonlyArray<unknown>) =>
      Effect.flatMap(store.read, (tables) => {
        const wanted = normalised(Object.fromEntries(key.fields.map((field, index) => [field, values[index]])))
        const found = Arr.findFirst([...HashMap.values(tableOf(tables).rows)], (row) =>
          key.fields.every(
            (field) => keyText(row[field]) !== undefined && keyText(row[field]) === keyText(wanted[field])
          )
        )
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
        const rows = [...HashMap.values(tableOf(tables).rows)]
          .filter((row) => after === undefined || compareRows(row, after) > 0)
          .filter((row) => where.every(([field, text]) => text !== undefined && keyText(row[field]) === text))
          .sort(compareRows)
          .slice(0, query.limit)
        return Effect.forEach(rows, (row) => decodeRow(row))
      })

    const update = (id: string, changes: EncodedRow) =>
      store.update(
        Effect.fnUntraced(function* (tables: MemoryTables) {
          const rows = tableOf(tables).rows
          const current = HashMap.get(rows, id)
          if (Option.isNone(current)) return [Option.none<Changed<Row>>(), tables] as const
          const row = normalised({ ...current.value, ...changes })
          const failure = violation(tables, row, HashMap.values(rows))
          if (failure !== undefined) return yield* failure
          const before = yield* decodeRow(current.value)
          const after = yield* decodeRow(row)
          return [Option.some({ before, after }), withRows(tables, HashMap.set(rows, id, row))] as const
        })
      )

    const delete_ = (id: string) =>
      store.update(
        Effect.fnUntraced(function* (tables: MemoryTables) {
          const current = HashMap.get(tableOf(tables).rows, id)
          if (Option.isNone(current)) return [Option.none<Row>(), tables] as const
          const next = cascade(withRows(tables, HashMap.remove(tableOf(tables).rows, id)), name, new Set([id]))
          if ("referencedBy" in next) return yield* new EntityStillReferenced({ by: next.referencedBy })
          return [Option.some(yield* decodeRow(current.value)), next] as const
        })
      )

    const result: EntityStore<Row> = {
      insert,
      findById,
      findByKey,
      list,
      update,
      delete: delete_,
      auditLogs: makeAuditLogStoreMemory(store),
      transaction: store.transaction
    }
    return result
  })
