import { deepStrictEqual, ok, strictEqual } from "node:assert/strict"
import { Effect, Exit, Option, Schema, Stream } from "effect"
import { makeUuidV7 } from "../../Domain/Ids.ts"
import type { AnyEntity, CreateOf, PatchOf, RowOf } from "../Entity/Entity.ts"
import type { RepositoryClass } from "../Entity/EntityKit.ts"
import { AuditLogRepository } from "../Repositories/AuditLogRepository.ts"
import { Transactions } from "../Repositories/Transactions.ts"
import { UserRepository } from "../Repositories/UserRepository.ts"

/** Options of `entityContract`. */
export interface EntityContractOptions<Input, Patch, Row, R> {
  /**
   * A valid new row; distinct `n` give distinct unique keys. It may create the rows it references (a user
   * through `UserRepository`, a row of another entity).
   */
  readonly sample: (n: number) => Effect.Effect<Input, unknown, R>
  /** A change of a created row that sets at least one field to a new value (tests `update`); optional. */
  readonly patch?: (row: Row) => Patch
}

/** One case of the contract: run it as a test (e.g. `it.effect(name, () => test)`). */
export interface EntityContractCase<R> {
  readonly name: string
  readonly test: Effect.Effect<void, unknown, R>
}

/** The kernel's services the contract also uses: users (referenced rows), audit records, transactions. */
export type EntityContractServices = UserRepository | AuditLogRepository | Transactions

let sequence = Math.floor(Math.random() * 1_000_000_000)
const fresh = () => ++sequence

class Rollback extends Schema.TaggedError<Rollback>()("Rollback", {}) {}

/**
 * The rules every store of an entity must keep, the same on PostgreSQL and in memory: run the cases against
 * `Repository.layerMemory` (on `MemoryDatabase.layer`) and `Repository.layer` (on a `TestDatabase`). They use
 * only the declaration and the repository, so they hold for any entity a service declares:
 *
 * ```ts
 * layer(SessionRepository.layer.pipe(Layer.provideMerge(TestDatabase.layer({ serviceMigrations }))))("sessions", (it) => {
 *   for (const { name, test } of entityContract(SessionRepository, { sample })) it.effect(name, () => test)
 * })
 * ```
 */
export const entityContract = <Self, Id extends string, E extends AnyEntity, R>(
  Repository: RepositoryClass<Self, Id, E>,
  options: EntityContractOptions<CreateOf<E>, PatchOf<E>, RowOf<E>, R>
): ReadonlyArray<EntityContractCase<Self | EntityContractServices | R>> => {
  type Row = RowOf<E>
  const entity = Repository.entity
  const pk = entity.primaryKey as string
  const idOf = (row: Row): string => String((row as Record<string, unknown>)[pk])
  const fieldOf = (row: Row, field: string): unknown => (row as Record<string, unknown>)[field]
  type Method = (...args: ReadonlyArray<unknown>) => Effect.Effect<unknown, unknown>
  // The methods by name: the contract is the same for every entity, whatever its keys are called.
  const repository = Repository as unknown as Effect.Effect<Readonly<Record<string, Method>>, never, Self>
  const call = <A = unknown>(name: string, ...args: ReadonlyArray<unknown>) =>
    Effect.flatMap(repository, (repo) => repo[name]!(...args) as Effect.Effect<A, unknown>)
  const create = (input: unknown) => call<Row>("create", input)
  const sample = (n = fresh()) => options.sample(n)
  const tagOf = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
    if (Exit.isSuccess(exit)) return undefined
    const error = Option.getOrUndefined(Exit.findErrorOption(exit))
    return (error as { readonly _tag?: string } | undefined)?._tag
  }
  const expectFailure = <A, R2>(
    effect: Effect.Effect<A, unknown, R2>,
    tag: string,
    check?: (error: Readonly<Record<string, unknown>>) => void
  ) =>
    Effect.flatMap(Effect.exit(effect), (exit) =>
      Effect.sync(() => {
        strictEqual(tagOf(exit), tag, `expected ${tag}, got ${Exit.isSuccess(exit) ? "success" : String(exit.cause)}`)
        if (check !== undefined)
          check(Option.getOrUndefined(Exit.findErrorOption(exit)) as Readonly<Record<string, unknown>>)
      })
    )
  const notFoundTag = new entity.notFound({ entity: entity.name }) as { readonly _tag: string }
  const records = (targetId: string) =>
    Effect.gen(function* () {
      const audit = yield* AuditLogRepository
      return (yield* audit.list({ targetId, limit: 100 })).items
    })

  const keyValue = (fields: ReadonlyArray<string>, name: string, source: unknown) => {
    const record = source as Record<string, unknown>
    return fields.length === 1 && fields[0] === name
      ? record[name]
      : Object.fromEntries(fields.map((field) => [field, record[field]]))
  }

  const tagOfError = (error: unknown): string => (error as { readonly _tag: string })._tag

  const cases: Array<EntityContractCase<Self | EntityContractServices | R>> = []
  const add = (name: string, test: Effect.Effect<void, unknown, Self | EntityContractServices | R>) =>
    cases.push({ name: `${entity.name}: ${name}`, test })

  add(
    "create returns the stored row, findById finds it, its id made by the kit",
    Effect.gen(function* () {
      const input = { ...(yield* sample()) } as Record<string, unknown>
      delete input[pk]
      const row = yield* create(input)
      deepStrictEqual(yield* call("findById", idOf(row)), row)
      if (entity.columns.find((column) => column.field === pk)?.sqlType === "uuid")
        ok(/^[0-9a-f]{8}-[0-9a-f]{4}-7/.test(idOf(row)), `a UUIDv7 id, got ${idOf(row)}`)
    })
  )

  add(
    "concurrent findById calls each get their own row; an unknown or malformed id is NotFound",
    Effect.gen(function* () {
      const rows = yield* Effect.forEach([1, 2, 3], () => Effect.flatMap(sample(), create))
      const found = yield* Effect.forEach(rows, (row) => call<Row>("findById", idOf(row)), { concurrency: "unbounded" })
      deepStrictEqual(found, rows)
      yield* expectFailure(call("findById", yield* makeUuidV7), notFoundTag._tag)
      yield* expectFailure(call("findById", "not-an-id"), notFoundTag._tag)
      yield* expectFailure(call("findById", 42), "InvalidInput")
    })
  )

  add(
    "createMany writes all the rows in order, or none",
    Effect.gen(function* () {
      const inputs = [yield* sample(), yield* sample()]
      const rows = yield* call<ReadonlyArray<Row>>("createMany", inputs)
      strictEqual(rows.length, 2)
      deepStrictEqual(yield* call("findById", idOf(rows[1]!)), rows[1])
      deepStrictEqual(yield* call("createMany", []), [])
      if (entity.keys.length > 0) {
        const key = entity.keys[0]!
        const first = yield* sample()
        const second = { ...(yield* sample()) } as Record<string, unknown>
        for (const field of key.fields) second[field] = (first as Record<string, unknown>)[field]
        yield* expectFailure(
          call("createMany", [first, second]),
          tagOfError(new key.error({ entity: entity.name, key: key.name }))
        )
        yield* expectFailure(
          call(`findBy${key.name.charAt(0).toUpperCase()}${key.name.slice(1)}`, keyValue(key.fields, key.name, first)),
          notFoundTag._tag
        )
      }
    })
  )

  for (const key of entity.keys) {
    const method = `findBy${key.name.charAt(0).toUpperCase()}${key.name.slice(1)}`
    const keyError = new key.error({ entity: entity.name, key: key.name }) as { readonly _tag: string }
    add(
      `the unique key ${key.name}: ${method} finds the row; a second row with it fails with ${keyError._tag}`,
      Effect.gen(function* () {
        const row = yield* Effect.flatMap(sample(), create)
        deepStrictEqual(yield* call(method, keyValue(key.fields, key.name, row)), row)
        const other = { ...(yield* sample()) } as Record<string, unknown>
        for (const field of key.fields) other[field] = fieldOf(row, field)
        yield* expectFailure(create(other), keyError._tag, (error) => strictEqual(error.key, key.name))
        // Taken by an update too.
        const third = yield* Effect.flatMap(sample(), create)
        const patch = Object.fromEntries(key.fields.map((field) => [field, fieldOf(row, field)]))
        if (key.fields.every((field) => field !== pk))
          yield* expectFailure(call("update", idOf(third), patch), keyError._tag)
      })
    )
  }

  for (const key of entity.keys) {
    const method = `ensureBy${key.name.charAt(0).toUpperCase()}${key.name.slice(1)}`
    type Ensured = { readonly row: Row; readonly created: boolean }
    add(
      `${method} creates the row once: a second call with the key, or concurrent ones, get it unchanged`,
      Effect.gen(function* () {
        const first = yield* sample()
        const made = yield* call<Ensured>(method, first)
        strictEqual(made.created, true)
        deepStrictEqual(yield* call("findById", idOf(made.row)), made.row)
        const other = { ...(yield* sample()) } as Record<string, unknown>
        for (const field of key.fields) other[field] = (first as Record<string, unknown>)[field]
        deepStrictEqual(yield* call<Ensured>(method, other), { row: made.row, created: false })
        if (entity.audit !== undefined) {
          const created = (yield* records(idOf(made.row))).filter(
            (log) => log.action === `${entity.audit!.namespace}.created`
          )
          strictEqual(created.length, 1, "recorded once, when created")
        }
        const input = yield* sample()
        const racing = yield* Effect.forEach([1, 2, 3, 4], () => call<Ensured>(method, input), {
          concurrency: "unbounded"
        })
        strictEqual(new Set(racing.map((result) => idOf(result.row))).size, 1, "one row for the key")
        strictEqual(racing.filter((result) => result.created).length, 1, "created by one call")
        yield* expectFailure(call(method, null), "InvalidInput")
      })
    )
  }

  const textFilters = (entity.filters as ReadonlyArray<string>).filter(
    (field) => entity.columns.find((column) => column.field === field)?.sqlType === "text"
  )
  for (const field of textFilters)
    add(
      `list filters ${field} by prefix, exactly (no wildcards); a prefix of another field is InvalidInput`,
      Effect.gen(function* () {
        const row = yield* Effect.flatMap(sample(), create)
        const value = String(fieldOf(row, field))
        const prefix = value.slice(0, Math.max(1, value.length - 1))
        const page = yield* call<{ items: ReadonlyArray<Row> }>("list", { startsWith: { [field]: prefix }, limit: 500 })
        ok(
          page.items.some((item) => idOf(item) === idOf(row)),
          `the row is listed under the prefix ${prefix}`
        )
        for (const item of page.items) ok(String(fieldOf(item, field)).startsWith(prefix))
        for (const wildcard of ["%", "_"]) {
          const none = yield* call<{ items: ReadonlyArray<Row> }>("list", {
            startsWith: { [field]: wildcard },
            limit: 500
          })
          for (const item of none.items) ok(String(fieldOf(item, field)).startsWith(wildcard), `${wildcard} is literal`)
        }
        yield* expectFailure(call("list", { startsWith: { [pk]: "0" } }), "InvalidInput", (error) =>
          strictEqual(error.field, `startsWith.${pk}`)
        )
        yield* expectFailure(call("list", { startsWith: { [field]: "a\u0000" } }), "InvalidInput", (error) =>
          strictEqual(error.field, `startsWith.${field}`)
        )
      })
    )

  for (const reference of entity.references) {
    const referencedNotFound = reference.notFound("x") as { readonly _tag: string }
    const column = entity.columns.find((candidate) => candidate.field === reference.field)
    if (column?.sqlType !== "uuid") continue
    add(
      `the reference ${reference.field} -> ${reference.table}: a missing row fails with ${referencedNotFound._tag}`,
      Effect.gen(function* () {
        const missing = yield* makeUuidV7
        const input = { ...(yield* sample()), [reference.field]: missing }
        yield* expectFailure(create(input), referencedNotFound._tag, (error) => strictEqual(error.id, missing))
        const row = yield* Effect.flatMap(sample(), create)
        yield* expectFailure(call("update", idOf(row), { [reference.field]: missing }), referencedNotFound._tag)
        deepStrictEqual(yield* call("findById", idOf(row)), row)
      })
    )
    if (reference.table === "users" && reference.onDelete !== "restrict")
      add(
        `deleting the referenced user ${reference.onDelete === "cascade" ? "deletes" : "clears"} the row's ${reference.field}`,
        Effect.gen(function* () {
          const row = yield* Effect.flatMap(sample(), create)
          const userId = fieldOf(row, reference.field)
          if (typeof userId !== "string") return
          yield* (yield* UserRepository).delete(userId as never)
          if (reference.onDelete === "cascade") yield* expectFailure(call("findById", idOf(row)), notFoundTag._tag)
          else strictEqual(fieldOf(yield* call<Row>("findById", idOf(row)), reference.field), null)
        })
      )
  }

  add(
    "list pages through every row in the declared order; a forged cursor is InvalidInput",
    Effect.gen(function* () {
      const created = yield* Effect.forEach([1, 2, 3], () => Effect.flatMap(sample(), create))
      const all: Array<Row> = []
      let cursor: string | undefined
      do {
        const page = yield* call<{ items: ReadonlyArray<Row>; nextCursor: Option.Option<string> }>("list", {
          limit: 2,
          ...(cursor === undefined ? {} : { cursor })
        })
        all.push(...page.items)
        cursor = Option.getOrUndefined(page.nextCursor)
      } while (cursor !== undefined)
      const ids = all.map(idOf)
      strictEqual(new Set(ids).size, ids.length, "no row twice")
      for (const row of created) ok(ids.includes(idOf(row)), "every row listed")
      yield* expectFailure(call("list", { cursor: "bm90LWEtY3Vyc29y" }), "InvalidInput", (error) =>
        strictEqual(error.field, "cursor")
      )
      yield* expectFailure(call("list", { limit: 0 }), "InvalidInput", (error) => strictEqual(error.field, "limit"))
      for (const field of entity.filters as ReadonlyArray<string>) {
        const value = fieldOf(created[0]!, field)
        const page = yield* call<{ items: ReadonlyArray<Row> }>("list", { [field]: value, limit: 500 })
        ok(page.items.length > 0, `filtering on ${field} finds the row`)
        for (const item of page.items) deepStrictEqual(fieldOf(item, field), value)
      }
    })
  )

  add(
    "stream gives every row list gives, one page at a time",
    Effect.gen(function* () {
      const rows = yield* Effect.forEach([1, 2], () => Effect.flatMap(sample(), create))
      const repo = yield* repository
      const streamed = yield* Stream.runCollect(repo.stream!({ limit: 1 }) as unknown as Stream.Stream<Row, unknown>)
      const ids = Array.from(streamed, idOf)
      for (const row of rows) ok(ids.includes(idOf(row)))
    })
  )

  add(
    "update with an empty patch changes nothing and records nothing",
    Effect.gen(function* () {
      const row = yield* Effect.flatMap(sample(), create)
      const before = (yield* records(idOf(row))).length
      deepStrictEqual(yield* call("update", idOf(row), {}), row)
      strictEqual((yield* records(idOf(row))).length, before)
      yield* expectFailure(call("update", yield* makeUuidV7, {}), notFoundTag._tag)
      yield* expectFailure(call("update", idOf(row), null), "InvalidInput")
    })
  )

  if (options.patch !== undefined) {
    const patchOf = options.patch
    add(
      "update sets the patched fields and records the change",
      Effect.gen(function* () {
        const row = yield* Effect.flatMap(sample(), create)
        const patch = patchOf(row) as Record<string, unknown>
        const updated = yield* call<Row>("update", idOf(row), patch)
        for (const [field, value] of Object.entries(patch)) deepStrictEqual(fieldOf(updated, field), value)
        deepStrictEqual(yield* call("findById", idOf(row)), updated)
        if (entity.audit !== undefined) {
          const updates = (yield* records(idOf(row))).filter(
            (log) => log.action === `${entity.audit!.namespace}.updated`
          )
          strictEqual(updates.length, 1)
        }
      })
    )
  }

  add(
    "delete removes the row; a second delete is NotFound",
    Effect.gen(function* () {
      const row = yield* Effect.flatMap(sample(), create)
      yield* call("delete", idOf(row))
      yield* expectFailure(call("findById", idOf(row)), notFoundTag._tag)
      yield* expectFailure(call("delete", idOf(row)), notFoundTag._tag)
    })
  )

  if (entity.audit !== undefined) {
    const { namespace, secret } = entity.audit
    add(
      `create and delete are recorded as ${namespace}.created and .deleted, without the secret fields`,
      Effect.gen(function* () {
        const row = yield* Effect.flatMap(sample(), create)
        yield* call("delete", idOf(row))
        const logs = yield* records(idOf(row))
        deepStrictEqual(logs.map((log) => log.action).sort(), [`${namespace}.created`, `${namespace}.deleted`])
        const text = JSON.stringify(logs.map((log) => log.metadata))
        for (const field of secret) {
          const value = fieldOf(row, field)
          ok(typeof value !== "string" || !text.includes(value), `the secret ${field} is not in the records`)
        }
      })
    )
  }

  add(
    "calls join a caller's transaction: a failure rolls the row back with it",
    Effect.gen(function* () {
      const input = { ...(yield* sample()) } as Record<string, unknown>
      const id = yield* makeUuidV7
      input[pk] = id
      const transactions = yield* Transactions
      yield* Effect.flip(transactions.withTransaction(Effect.flatMap(create(input), () => Effect.fail(new Rollback()))))
      yield* expectFailure(call("findById", id), notFoundTag._tag)
    })
  )

  add(
    "bad input is InvalidInput naming the field, and writes nothing",
    Effect.gen(function* () {
      yield* expectFailure(create(null), "InvalidInput")
      const input = { ...(yield* sample()) } as Record<string, unknown>
      const field = entity.columns.find((column) => column.field !== pk && !column.nullable)?.field
      if (field !== undefined)
        yield* expectFailure(create({ ...input, [field]: undefined }), "InvalidInput", (error) =>
          strictEqual(error.field, field)
        )
      // Text PostgreSQL cannot store as given is refused by both stores, naming the field.
      const text = entity.columns.find(
        (column) => column.sqlType === "text" && typeof (input as Record<string, unknown>)[column.field] === "string"
      )?.field
      if (text !== undefined)
        yield* expectFailure(
          create({ ...input, [text]: `${String((input as Record<string, unknown>)[text])}\u0000` }),
          "InvalidInput",
          (error) => strictEqual(error.field, text)
        )
    })
  )

  return cases
}
