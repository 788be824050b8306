import { type DateTime, Effect, HashMap, Option } from "effect"
import { checkId, type IdRule } from "../Repositories/RepositoryInputs.ts"
import { findValue } from "./MemoryRelations.ts"
import type { MemoryStore, MemoryTables } from "./MemoryStore.ts"

interface NamedRow {
  readonly id: string
  readonly name: string
}

/** The fields of a new named row, as `newRoleRow` and `newPermissionRow` make them. */
type NewNamedRow<Row extends NamedRow> = Pick<Row, "id" | "name"> & { readonly description: string }

/**
 * The memory twin of NamedRows.ts: what roles and permissions share in the store, rows with a unique name
 * stamped with the transaction's time.
 */
export const makeNamedRowsMemory = <Row extends NamedRow, NotFound, NameTaken>(
  store: MemoryStore["Service"],
  spec: {
    readonly rows: (tables: MemoryTables) => HashMap.HashMap<Row["id"], Row>
    readonly withRows: (tables: MemoryTables, rows: HashMap.HashMap<Row["id"], Row>) => MemoryTables
    readonly make: (fields: NewNamedRow<Row> & { readonly createdAt: DateTime.Utc }) => Row
    readonly idRule: IdRule<Row["id"], NotFound>
    readonly nameNotFound: (name: Row["name"]) => NotFound
    readonly nameTaken: (name: Row["name"]) => NameTaken
  }
) => {
  const byName = (tables: MemoryTables, name: string): Option.Option<Row> =>
    findValue(spec.rows(tables), (row) => row.name === name)

  /** The row `id` names in `tables`, or its NotFound. */
  const existing = (tables: MemoryTables, id: Row["id"]): Effect.Effect<Row, NotFound> =>
    Option.match(HashMap.get(spec.rows(tables), id), {
      onNone: () => Effect.fail(spec.idRule.notFound(id)),
      onSome: Effect.succeed
    })

  /** `tables` with `row` stored under its id. */
  const put = (tables: MemoryTables, row: Row): MemoryTables =>
    spec.withRows(tables, HashMap.set(spec.rows(tables), row.id, row))

  const insert = (tables: MemoryTables, fields: NewNamedRow<Row>) =>
    Effect.map(store.transactionTime, (createdAt) => {
      const row = spec.make({ ...fields, createdAt })
      return [row, put(tables, row)] as const
    })

  const create = (fields: NewNamedRow<Row>) =>
    store.update(
      Effect.fnUntraced(function* (tables: MemoryTables) {
        if (Option.isSome(byName(tables, fields.name))) return yield* Effect.fail(spec.nameTaken(fields.name))
        return yield* insert(tables, fields)
      })
    )

  /** The row of `fields.name`, inserted when there is none; an existing one is returned unchanged. */
  const ensure = (fields: NewNamedRow<Row>) =>
    store.update((tables) =>
      Option.match(byName(tables, fields.name), {
        onNone: () => insert(tables, fields),
        onSome: (found) => Effect.succeed([found, tables] as const)
      })
    )

  const findById = (id: string) =>
    Effect.gen(function* () {
      const validId = yield* checkId(spec.idRule, id)
      return yield* existing(yield* store.read, validId)
    })

  const findByName = (name: Row["name"]) =>
    Effect.gen(function* () {
      const found = byName(yield* store.read, name)
      if (Option.isNone(found)) return yield* Effect.fail(spec.nameNotFound(name))
      return found.value
    })

  return { byName, existing, put, create, ensure, findById, findByName }
}
