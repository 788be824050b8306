import { Buffer } from "node:buffer"
import { Array as Arr, Effect, Option, Predicate, Schema, Stream } from "effect"
import { decodeInput } from "../../Domain/Input.ts"
import {
  AuditAction,
  type AuditMetadata,
  AuditMetadataMaxBytes,
  AuditTargetId,
  type DatabaseUnavailable,
  InvalidInput,
  invalidCursor,
  invalidInputFromIssue,
  makeCursorCodec,
  makeUuidV7,
  type Page,
  PageRequest
} from "../../Domain/index.ts"
import { optionalInput } from "../../Domain/OptionalInput.ts"
import { storableTextProblem } from "../../Domain/StorableText.ts"
import { auditRow } from "../Front/AuditTrail.ts"
import { methodsOf } from "../Front/Operation.ts"
import { listPage, streamOf } from "../Front/Paging.ts"
import { checkId, type IdRule, lookupById, orNotFound, requestOrEmpty, validId } from "../Front/RepositoryInputs.ts"
import type { StoreFailure } from "../Front/RepositoryStore.ts"
import type {
  AnyEntity,
  CreateOf,
  FilterOf,
  IdOf,
  KeyErrorOf,
  KeyTakenClass,
  NotFoundOf,
  PatchOf,
  ReferenceErrorOf,
  RowOf,
  UniqueKey
} from "./Entity.ts"
import type { EncodedRow, EntityStore, EntityWriteFailure } from "./EntityStore.ts"

/** A delete refused because rows of another table still reference the row (ON DELETE RESTRICT). */
export class RowStillReferenced extends Schema.TaggedError<RowStillReferenced>()("RowStillReferenced", {
  entity: Schema.String,
  id: Schema.String,
  by: Schema.String
}) {
  override get message(): string {
    return `${this.entity} ${this.id} is still referenced by ${this.by}`
  }
}

/**
 * The declared filter fields of plain text (`string`, not a branded id such as `UserId`): those a page may also
 * filter by prefix. At run time a prefix of a field not stored as `text` is refused with `InvalidInput`.
 */
export type TextFilterOf<E extends AnyEntity> = {
  [K in FilterOf<E>]: string extends NonNullable<RowOf<E>[K & keyof RowOf<E>]> ? K : never
}[FilterOf<E>]

/**
 * A page request of an entity: size, cursor, an equality filter on each declared filter field, and
 * `startsWith`: a prefix of a text filter field (compared exactly: `_` and `%` are no wildcards).
 */
export type ListOf<E extends AnyEntity> = {
  readonly [K in "limit" | "cursor" | FilterOf<E>]?:
    | (K extends "limit" ? number : K extends "cursor" ? string : RowOf<E>[K & FilterOf<E>])
    | undefined
} & {
  readonly startsWith?:
    | ([TextFilterOf<E>] extends [never] ? never : { readonly [K in TextFilterOf<E>]?: string | undefined })
    | undefined
}

/** What `ensureBy<Key>` gives: the row holding the key, and whether this call created it. */
export interface EnsuredRow<Row> {
  readonly row: Row
  readonly created: boolean
}

type KeySpecs<E extends AnyEntity> = E["~options"]["keys"]

/** The value `findBy<Key>` takes: the column's value, or an object of the columns of a composite key. */
export type KeyValueOf<E extends AnyEntity, K extends keyof KeySpecs<E>> = KeySpecs<E>[K] extends {
  readonly columns: ReadonlyArray<infer F extends keyof RowOf<E>>
}
  ? { readonly [Field in F]: RowOf<E>[Field] }
  : K extends keyof RowOf<E>
    ? RowOf<E>[K]
    : never

/**
 * The methods every entity's repository has, by the types its declaration gives (so an editor shows
 * `Effect<Session, InvalidInput | SessionTokenTaken | UserNotFound | DatabaseUnavailable>`, not the kit's
 * type functions).
 */
export interface EntityMethods<Row, Id, Create, Patch, List, NotFound, KeyError, ReferenceError> {
  readonly create: (input: Create) => Effect.Effect<Row, InvalidInput | KeyError | ReferenceError | DatabaseUnavailable>
  /** All or nothing, in one statement; the rows in the order given. */
  readonly createMany: (
    inputs: ReadonlyArray<Create>
  ) => Effect.Effect<ReadonlyArray<Row>, InvalidInput | KeyError | ReferenceError | DatabaseUnavailable>
  /** Concurrent calls are batched into one statement. */
  readonly findById: (id: Id) => Effect.Effect<Row, NotFound | InvalidInput | DatabaseUnavailable>
  /** In the declared keyset order. */
  readonly list: (request?: List) => Effect.Effect<Page<Row>, InvalidInput | DatabaseUnavailable>
  readonly stream: (request?: List) => Stream.Stream<Row, InvalidInput | DatabaseUnavailable>
  /** Sets the fields given; an empty patch changes and records nothing and returns the row. */
  readonly update: (
    id: Id,
    patch: Patch
  ) => Effect.Effect<Row, NotFound | InvalidInput | KeyError | ReferenceError | DatabaseUnavailable>
  readonly delete: (id: Id) => Effect.Effect<void, NotFound | RowStillReferenced | InvalidInput | DatabaseUnavailable>
}

/** The repository of an entity (`Entity.Repository` makes its service class): its methods and a findBy per key. */
export type EntityRepository<E extends AnyEntity> = EntityMethods<
  RowOf<E>,
  IdOf<E>,
  CreateOf<E>,
  PatchOf<E>,
  ListOf<E>,
  NotFoundOf<E>,
  KeyErrorOf<E>,
  ReferenceErrorOf<E>
> & {
  readonly [K in keyof KeySpecs<E> & string as `findBy${Capitalize<K>}`]: (
    value: KeyValueOf<E, K>
  ) => Effect.Effect<RowOf<E>, NotFoundOf<E> | InvalidInput | DatabaseUnavailable>
} & {
  /**
   * Insert-or-get on the unique key: the row holding the input's key, created from the input (and recorded)
   * when there is none, else the existing row unchanged (`created: false`). Race-safe: concurrent calls with
   * the same key give one row. Another unique key already taken fails with its error.
   */
  readonly [K in keyof KeySpecs<E> & string as `ensureBy${Capitalize<K>}`]: (
    input: CreateOf<E>
  ) => Effect.Effect<EnsuredRow<RowOf<E>>, InvalidInput | KeyErrorOf<E> | ReferenceErrorOf<E> | DatabaseUnavailable>
}

const capitalize = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}`

const fieldsOf = (schema: unknown): Record<string, Schema.Top> =>
  (schema as { readonly fields: Record<string, Schema.Top> }).fields

const sameValue = (left: unknown, right: unknown): boolean =>
  left instanceof Date && right instanceof Date ? left.getTime() === right.getTime() : Object.is(left, right)

// The earliest timestamptz (4714-11-24 BC), in milliseconds since the epoch.
const postgresMinEpochMillis = -210_866_803_200_000

/** A cursor value of a column: a Date as ISO text, anything else as its text. */
const cursorText = (value: unknown): string => (value instanceof Date ? value.toISOString() : String(value))

const cursorValueIsValid = (sqlType: string, text: string): boolean => {
  switch (sqlType) {
    // Exactly as a page wrote it (ISO text), within what timestamptz holds: never a value the server refuses.
    case "timestamptz": {
      const millis = Date.parse(text)
      return !Number.isNaN(millis) && millis >= postgresMinEpochMillis && new Date(millis).toISOString() === text
    }
    case "integer":
      return /^-?\d{1,10}$/.test(text) && Math.abs(Number(text)) <= 2_147_483_647
    case "bigint":
      return /^-?\d{1,18}$/.test(text)
    case "double precision":
      return text.trim() !== "" && Number.isFinite(Number(text))
    case "boolean":
      return text === "true" || text === "false"
    case "uuid":
      return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text)
    default:
      return !text.includes("\u0000")
  }
}

/**
 * Text PostgreSQL cannot store as given (NUL, unpaired surrogates), and a time before its first, are refused
 * before either store is asked, naming the field, so that memory agrees with PostgreSQL (which would fail the
 * statement).
 */
const checkStorable = (encoded: EncodedRow, prefix = ""): Effect.Effect<EncodedRow, InvalidInput> => {
  for (const [field, value] of Object.entries(encoded)) {
    const problem =
      typeof value === "string"
        ? storableTextProblem(value)
        : value instanceof Date && !(value.getTime() >= postgresMinEpochMillis)
          ? "must be a time PostgreSQL can store (from 4714-11-24 BC)"
          : undefined
    if (problem !== undefined) return Effect.fail(InvalidInput.fromRule(`${prefix}${field}`, problem))
  }
  return Effect.succeed(encoded)
}

/** The repository of `entity` over `store`: validation, errors, audit, spans and metrics, paging. */
export const makeEntityRepository = <E extends AnyEntity>(
  entity: E,
  store: EntityStore<RowOf<E>>
): EntityRepository<E> => {
  type Row = RowOf<E>
  const Model = entity.Model
  const name = entity.name
  const pk = entity.primaryKey as string
  const method = methodsOf(name)
  const selectFields = fieldsOf(Model)
  const insertSchema = Model.insert as Schema.Codec<unknown, EncodedRow>
  const encodeInsert = Schema.encodeEffect(insertSchema)
  const encodeRowSync = Schema.encodeSync(Model as unknown as Schema.Codec<Row, EncodedRow>)
  const typeOf = new Map(entity.columns.map((column) => [column.field, column.sqlType]))

  // Ids: checked before any store is asked; a malformed one names no row (NotFound, as the kernel's).
  const isId = validId(Schema.toType(selectFields[pk]!) as Schema.Top & { readonly Type: string })
  const lowerCaseIds = typeOf.get(pk) === "uuid"
  const idRule: IdRule<string, NotFoundOf<E>> = {
    validId: (id) =>
      Option.filter(isId(lowerCaseIds && typeof id === "string" ? id.toLowerCase() : id), Predicate.isString),
    notFound: (id) => new entity.notFound({ entity: name, id }) as NotFoundOf<E>
  }

  const failureOf = (failure: EntityWriteFailure, id?: string) => {
    switch (failure._tag) {
      case "EntityKeyTaken":
        return new (failure.key.error as KeyTakenClass<KeyErrorOf<E>>)({ entity: name, key: failure.key.name })
      case "EntityReferenceMissing":
        return failure.reference.notFound(failure.id) as ReferenceErrorOf<E>
      case "EntityStillReferenced":
        return new RowStillReferenced({ entity: name, id: id ?? "", by: failure.by })
      case "EntityBadValue":
        return InvalidInput.fromRule(failure.field, failure.rule)
    }
  }
  const writeFailures = <A, R>(effect: Effect.Effect<A, EntityWriteFailure | unknown, R>, id?: string) =>
    Effect.catchIf(
      effect,
      (error): error is EntityWriteFailure =>
        Predicate.isTagged(error, "EntityKeyTaken") ||
        Predicate.isTagged(error, "EntityReferenceMissing") ||
        Predicate.isTagged(error, "EntityStillReferenced") ||
        Predicate.isTagged(error, "EntityBadValue"),
      (failure) => Effect.fail(failureOf(failure, id))
    )

  // Audit: `<namespace>.created|updated|deleted`, metadata from the rows' JSON form without secrets.
  const secret = new Set(entity.audit?.secret ?? [])
  const jsonFields = new Set(Object.keys(fieldsOf(Model.json)))
  const encodeJson = Schema.encodeUnknownSync(
    Schema.toCodecJson(Model.json as Schema.Top) as unknown as Schema.Codec<unknown, unknown>
  )
  // A record must fit the audit log's metadata limit: a long text is cut, and a row still too large is
  // recorded by its field names only.
  const visible = (row: Row, fields: Iterable<string>): Record<string, unknown> => {
    const json = encodeJson(row) as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const field of fields) {
      if (!jsonFields.has(field) || secret.has(field)) continue
      const value = json[field]
      out[field] = typeof value === "string" && value.length > 512 ? `${value.slice(0, 512)}…` : value
    }
    return Buffer.byteLength(JSON.stringify(out)) > AuditMetadataMaxBytes / 4 ? { fields: Object.keys(out) } : out
  }
  const actionOf = (event: string) =>
    entity.audit === undefined ? undefined : AuditAction.make(`${entity.audit.namespace}.${event}`)
  const record = (events: ReadonlyArray<{ readonly event: string; readonly row: Row; readonly metadata: object }>) => {
    if (entity.audit === undefined || events.length === 0) return Effect.void
    return Effect.flatMap(
      Effect.forEach(events, ({ event, row, metadata }) =>
        auditRow({
          action: actionOf(event)!,
          targetId: AuditTargetId.make(String(row[pk as keyof Row])),
          metadata: metadata as AuditMetadata
        })
      ),
      (rows) => (Arr.isReadonlyArrayNonEmpty(rows) ? Effect.asVoid(store.auditLogs.insert(rows)) : Effect.void)
    )
  }
  const audited = <A, Err, R>(
    change: Effect.Effect<A, Err, R>,
    eventsOf: (result: A) => Parameters<typeof record>[0]
  ): Effect.Effect<A, Err | StoreFailure, R> =>
    // Without audit a change is one statement: no transaction of its own to open.
    entity.audit === undefined ? change : store.transaction(Effect.tap(change, (result) => record(eventsOf(result))))
  const created = (row: Row) => ({ event: "created", row, metadata: { row: visible(row, jsonFields) } })

  // create: the insert variant's constructor checks the input and fills its defaults; the id is made here.
  const newRow = (input: unknown, field: string) =>
    Effect.gen(function* () {
      if (!Predicate.isObject(input) || Array.isArray(input))
        return yield* Effect.fail(InvalidInput.fromRule(field, "must be an object"))
      const given = input as Record<string, unknown>
      const id = given[pk] === undefined ? yield* makeUuidV7 : given[pk]
      const made = yield* insertSchema
        .makeEffect({ ...given, [pk]: id })
        .pipe(Effect.mapError((issue) => invalidInputFromIssue(issue, field)))
      return yield* checkStorable(yield* encodeInsert(made), field === "input" ? "" : `${field}.`)
    }).pipe(Effect.catchDefect(() => Effect.fail(InvalidInput.fromRule(field, "must be readable: reading it threw"))))

  const insertAll = (rows: Arr.NonEmptyReadonlyArray<EncodedRow>) =>
    writeFailures(audited(store.insert(rows), (inserted) => inserted.map(created)))

  const create = method("create")(function* (input: CreateOf<E>) {
    const [row] = yield* insertAll([yield* newRow(input, "input")])
    return row!
  })

  const createMany = method("createMany")(function* (inputs: ReadonlyArray<CreateOf<E>>) {
    if (!Array.isArray(inputs)) return yield* Effect.fail(InvalidInput.fromRule("inputs", "must be an array"))
    const rows = yield* Effect.forEach(inputs, (input, index) => newRow(input, `inputs[${index}]`))
    return Arr.isReadonlyArrayNonEmpty(rows) ? yield* insertAll(rows) : []
  })

  const findById = method("findById")(function* (id: IdOf<E>) {
    return yield* lookupById(idRule, "id", id, store.findById)
  })

  // findBy<Key>: the value checked with the key's fields, encoded as the store compares it; ensureBy<Key>: the
  // store's insert-if-absent on that key.
  const keyMethods = Object.fromEntries(
    entity.keys.flatMap((key: UniqueKey) => {
      const single = key.fields.length === 1 && key.fields[0] === key.name
      const schema = Schema.Struct(Object.fromEntries(key.fields.map((field) => [field, selectFields[field]!])))
      const decode = decodeInput(Schema.toType(schema), key.name)
      const encode = Schema.encodeEffect(schema as unknown as Schema.Codec<Record<string, unknown>, EncodedRow>)
      const notFound = new entity.notFound({ entity: name, key: key.name }) as NotFoundOf<E>
      const lookup = method(`findBy${capitalize(key.name)}`)(function* (value: unknown) {
        const fields = yield* decode(single ? { [key.name]: value } : value)
        const encoded = yield* checkStorable(yield* encode(fields))
        const found = yield* store.findByKey(
          key,
          key.fields.map((field) => encoded[field])
        )
        if (Option.isNone(found)) return yield* Effect.fail(notFound)
        return found.value
      })
      const ensure = method(`ensureBy${capitalize(key.name)}`)(function* (input: CreateOf<E>) {
        const [ensured] = yield* writeFailures(
          audited(store.insertOrGet(key, [yield* newRow(input, "input")]), (results) =>
            results.flatMap((result) => (result.created ? [created(result.row)] : []))
          )
        )
        return ensured!
      })
      return [
        [`findBy${capitalize(key.name)}`, lookup],
        [`ensureBy${capitalize(key.name)}`, ensure]
      ] as const
    })
  )

  // list: a keyset cursor of the order's values as text, and equality filters.
  const cursor = makeCursorCodec(Schema.Array(Schema.String))
  const cursorOf = {
    encode: (key: ReadonlyArray<string>) => cursor.encode(key),
    decode: (text: string) =>
      Effect.flatMap(cursor.decode(text), (key) =>
        key.length === entity.order.length &&
        key.every((value, index) => cursorValueIsValid(typeOf.get(entity.order[index]!) ?? "text", value))
          ? Effect.succeed(key)
          : Effect.fail(invalidCursor)
      )
  }
  const filterFields = Object.fromEntries(
    entity.filters.map((field: string) => [field, optionalInput(Schema.toType(selectFields[field]!))])
  )
  // Prefixes: only of the filter fields stored as text (a uuid or a number has no prefix in SQL).
  const textFilters = (entity.filters as ReadonlyArray<string>).filter((field) => typeOf.get(field) === "text")
  const prefixFields = Schema.Struct(
    Object.fromEntries(textFilters.map((field) => [field, optionalInput(Schema.String)]))
  )
  // The struct would drop a field it does not know: one that is no text filter is refused, naming it.
  const unknownPrefix = (request: unknown): string | undefined => {
    const given = Predicate.isObject(request) ? (request as { readonly startsWith?: unknown }).startsWith : undefined
    return Predicate.isObject(given) ? Object.keys(given).find((field) => !textFilters.includes(field)) : undefined
  }
  const decodeList = decodeInput(
    Schema.Struct({ ...PageRequest.fields, ...filterFields, startsWith: optionalInput(prefixFields) }),
    "request"
  )
  const encodeFilter = Object.fromEntries(
    entity.filters.map((field: string) => [field, Schema.encodeEffect(selectFields[field]! as Schema.Codec<unknown>)])
  )

  const list = method("list")(function* (request?: ListOf<E>) {
    const refused = unknownPrefix(request)
    if (refused !== undefined)
      return yield* Effect.fail(InvalidInput.fromRule(`startsWith.${refused}`, "must be a text filter field"))
    const decoded = (yield* decodeList(requestOrEmpty(request))) as Record<string, unknown> & {
      readonly limit: number
      readonly cursor?: string
      readonly startsWith?: Readonly<Record<string, string | undefined>>
    }
    const where: Array<readonly [string, unknown]> = []
    for (const field of entity.filters as ReadonlyArray<string>)
      if (decoded[field] !== undefined) {
        const value = yield* encodeFilter[field]!(decoded[field])
        yield* checkStorable({ [field]: value })
        where.push([field, value])
      }
    const startsWith: Array<readonly [string, string]> = []
    for (const [field, prefix] of Object.entries(decoded.startsWith ?? {}))
      if (typeof prefix === "string") {
        yield* checkStorable({ [field]: prefix }, "startsWith.")
        startsWith.push([field, prefix])
      }
    return yield* listPage(
      decoded,
      cursorOf,
      ({ after, limit }) => store.list({ after, limit, where, startsWith }),
      (row: Row) => {
        const encoded = encodeRowSync(row)
        return entity.order.map((field) => cursorText(encoded[field]))
      }
    )
  })

  const stream = (request?: ListOf<E>) =>
    Stream.unwrap(
      Effect.map(decodeList(requestOrEmpty(request)), (decoded) => streamOf(list)(decoded as unknown as ListOf<E>))
    )

  // update: only the update variant's fields other than the key; those with a default (updatedAt) are stamped.
  const updateFields = fieldsOf(Model.update)
  const stamped = Object.keys(updateFields).filter(
    (field) => field !== pk && updateFields[field]!.ast.context?.constructorDefault !== undefined
  )
  const patchable = Object.keys(updateFields).filter((field) => field !== pk && !stamped.includes(field))
  const decodePatch = decodeInput(
    Schema.Struct(
      Object.fromEntries(patchable.map((field) => [field, optionalInput(Schema.toType(updateFields[field]!))]))
    ),
    "patch"
  )
  const stampSchema = Schema.Struct(Object.fromEntries(stamped.map((field) => [field, updateFields[field]!])))
  const encodePatch = Schema.encodeEffect(
    Schema.Struct(
      Object.fromEntries([...patchable, ...stamped].map((field) => [field, Schema.optionalKey(updateFields[field]!)]))
    ) as unknown as Schema.Codec<Record<string, unknown>, EncodedRow>
  )

  const update = method("update")(function* (id: IdOf<E>, patch: PatchOf<E>) {
    const changes = Object.fromEntries(
      Object.entries((yield* decodePatch(patch)) as Record<string, unknown>).filter(([, value]) => value !== undefined)
    )
    const validId = yield* checkId(idRule, "id", id)
    // An empty patch changes nothing: it returns the current row and records nothing.
    if (Object.keys(changes).length === 0) return yield* orNotFound(idRule, validId, store.findById(validId))
    const stamps = (yield* stampSchema.makeEffect({}).pipe(Effect.orDie)) as Record<string, unknown>
    const encoded = yield* checkStorable(yield* encodePatch({ ...changes, ...stamps }))
    const { after } = yield* writeFailures(
      audited(orNotFound(idRule, validId, store.update(validId, encoded)), ({ before, after }) => {
        const beforeEncoded = encodeRowSync(before)
        const afterEncoded = encodeRowSync(after)
        const changed = Object.keys(changes).filter((field) => !sameValue(beforeEncoded[field], afterEncoded[field]))
        return changed.length === 0
          ? []
          : [
              {
                event: "updated",
                row: after,
                metadata: { changed, before: visible(before, changed), after: visible(after, changed) }
              }
            ]
      }),
      validId
    )
    return after
  })

  const delete_ = method("delete")(function* (id: IdOf<E>) {
    const validId = yield* checkId(idRule, "id", id)
    yield* writeFailures(
      audited(orNotFound(idRule, validId, store.delete(validId)), (row) => [
        { event: "deleted", row, metadata: { row: visible(row, jsonFields) } }
      ]),
      validId
    )
  })

  return {
    create,
    createMany,
    findById,
    list,
    stream,
    update,
    delete: delete_,
    ...keyMethods
  } as unknown as EntityRepository<E>
}
