import { Schema, SchemaAST } from "effect"
import type { Model } from "effect/schema"
import { AuditAction } from "../../Domain/AuditAction.ts"
import { PermissionNotFound, RoleNotFound, UserNotFound } from "../../Domain/Errors.ts"
import { quoteIdentifier } from "../Postgres/Identifiers.ts"

// The declaration of a service's own table: what it stores (a Model.Class), and the rules the kit enforces on
// both stores (PostgreSQL and memory) and checks against the catalog.

/** The fields of an entity's NotFound: `id` when looked up by id, `key` (the key's name, never its value) else. */
export const NotFoundFields = {
  entity: Schema.String,
  id: Schema.optionalKey(Schema.String),
  key: Schema.optionalKey(Schema.String)
}

/** The fields of a unique key's error: which key (its name; the value may be a secret). */
export const KeyTakenFields = { entity: Schema.String, key: Schema.String }

/** A NotFound class of an entity: `class SessionNotFound extends Schema.TaggedError<...>()("...", NotFoundFields)`. */
export type NotFoundClass<E> = new (props: {
  readonly entity: string
  readonly id?: string
  readonly key?: string
}) => E

/** A unique key's error class: `class SessionTokenTaken extends Schema.TaggedError<...>()("...", KeyTakenFields)`. */
export type KeyTakenClass<E> = new (props: { readonly entity: string; readonly key: string }) => E

/** What an `ON DELETE` of the referenced row does to the rows that reference it. */
export type OnDelete = "cascade" | "restrict" | "set null"

/** The kernel tables an entity may reference; a missing row fails with the kernel's NotFound. */
export type KernelTable = "users" | "roles" | "permissions"

export interface KernelNotFound {
  readonly users: UserNotFound
  readonly roles: RoleNotFound
  readonly permissions: PermissionNotFound
}

/** Any declared entity (the kit's functions take one). */
// biome-ignore lint/suspicious/noExplicitAny: the variance-free upper bound of every declaration
export type AnyEntity = Entity<any, any, any, any, any, any>

/** A column that references a kernel table or another entity (by its primary key). */
export interface Reference {
  readonly to: KernelTable | AnyEntity
  /** Default `restrict` (PostgreSQL's `NO ACTION`, the same outcome). */
  readonly onDelete?: OnDelete
}

/** A key over several columns, under a name of its own. */
export interface CompositeKey<Field extends string> {
  readonly columns: readonly [Field, ...ReadonlyArray<Field>]
  readonly error: KeyTakenClass<unknown>
}

/** A unique key: one column (its name is the key's name) with its error, or several under a name of their own. */
export type KeySpec<Field extends string> =
  | KeyTakenClass<unknown>
  | { readonly columns: readonly [Field, ...ReadonlyArray<Field>]; readonly error: KeyTakenClass<unknown> }

type FieldOf<S extends Model.Any> = keyof S["Type"] & string

/** The declaration as written by a service. */
export interface EntityOptions<
  S extends Model.Any,
  Pk extends FieldOf<S>,
  Keys extends Record<string, KeySpec<FieldOf<S>>>,
  Refs extends { readonly [F in FieldOf<S>]?: Reference },
  Filter extends FieldOf<S>,
  NotFound
> {
  /** Names the spans and metrics (`<name>.<method>`) and the errors' `entity`; default: the Model's identifier. */
  readonly name?: string
  /** The table, unqualified (`sessions`), or qualified (`auth.sessions`) when `schema` is omitted. */
  readonly table: string
  readonly schema?: string
  /** The primary key field (default `id`): made by the kit as a UUIDv7 when `create` is not given one. */
  readonly primaryKey?: Pk
  readonly notFound: NotFoundClass<NotFound>
  /** Unique keys: `{ tokenHash: SessionTokenTaken }`, `{ nameInTeam: { columns: ["teamId", "name"], error } }`. */
  readonly keys?: Keys & { readonly [K in keyof Keys]: K extends FieldOf<S> ? unknown : CompositeKey<FieldOf<S>> }
  /** `{ userId: { to: "users", onDelete: "cascade" } }`, or `to: OtherEntity`. */
  readonly references?: Refs
  /** The fields `list` may filter on (equality). */
  readonly filters?: ReadonlyArray<Filter>
  /**
   * The keyset order of `list` (ascending); the primary key is appended when it is not last, unless the last
   * field is a one-column unique key that is never NULL (already total). Default: the primary key.
   */
  readonly order?: ReadonlyArray<FieldOf<S>>
  /** Audited changes: `<namespace>.created|updated|deleted`; `secret` fields are named as changed, never shown. */
  readonly audit?: { readonly namespace: string; readonly secret?: ReadonlyArray<FieldOf<S>> }
  /** A column's SQL type when the kit's guess from the schema is not the one wanted (`{ tokenHash: "bytea" }`). */
  readonly sqlTypes?: { readonly [F in FieldOf<S>]?: string }
}

/** A column as the kit derived it from the Model: its field, name, SQL type and nullability. */
export interface Column {
  readonly field: string
  readonly name: string
  readonly sqlType: string
  readonly nullable: boolean
  /**
   * Filled by the database (`DEFAULT`), not by the kit: a field of the select variant the insert variant does
   * not have (`Model.GeneratedByDb`, or a select-only `Model.Field`). The memory store fills a timestamptz with
   * the transaction's time, as `DEFAULT now()`.
   */
  readonly generated: boolean
}

/** A unique key as the kit uses it. */
export interface UniqueKey {
  readonly name: string
  readonly fields: ReadonlyArray<string>
  readonly error: KeyTakenClass<unknown>
}

/** A reference as the kit uses it. */
export interface ResolvedReference {
  readonly field: string
  /** The referenced table, qualified when it has a schema (`users`, `auth.sessions`). */
  readonly table: string
  readonly targetColumn: string
  readonly onDelete: OnDelete
  readonly notFound: (id: string) => unknown
}

/** A declared entity: the options as given (for the types) and what the kit derived from them. */
export interface Entity<
  S extends Model.Any,
  Pk extends FieldOf<S>,
  Keys extends Record<string, KeySpec<FieldOf<S>>>,
  Refs extends { readonly [F in FieldOf<S>]?: Reference },
  Filter extends FieldOf<S>,
  NotFound
> {
  readonly Model: S
  readonly name: string
  /** `schema.table` or `table`, as written in SQL. */
  readonly qualifiedTable: string
  readonly schema: string | undefined
  readonly table: string
  readonly primaryKey: Pk
  readonly columns: ReadonlyArray<Column>
  readonly keys: ReadonlyArray<UniqueKey>
  readonly references: ReadonlyArray<ResolvedReference>
  readonly filters: ReadonlyArray<Filter>
  /** The keyset, ending with the primary key or a one-column NOT NULL unique key. */
  readonly order: ReadonlyArray<string>
  readonly audit: { readonly namespace: string; readonly secret: ReadonlyArray<string> } | undefined
  readonly notFound: NotFoundClass<NotFound>
  /** For the types only. */
  readonly "~options": { readonly keys: Keys; readonly references: Refs }
}

/** `userId` -> `user_id`: the column of a field (the kernel's client maps names the same way). */
export const columnName = (field: string): string => field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)

const sampleUuid = "0190f2a4-7b1c-7d3e-8f40-123456789abc"
const notUuid = "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"

/**
 * The SQL type and nullability of a field, from the encoded side of its select schema (what the driver binds
 * and returns): a string that only UUIDs pass is `uuid`, other strings `text`, an integer `integer`, another
 * number `double precision`, a boolean `boolean`, a Date `timestamptz`; `null` accepted makes it nullable.
 */
export const sqlTypeOf = (schema: Schema.Top): { readonly sqlType: string; readonly nullable: boolean } => {
  const encoded = SchemaAST.toEncoded(schema.ast)
  const members = SchemaAST.isUnion(encoded) ? encoded.types : [encoded]
  const nullable = members.some((member) => SchemaAST.isNull(member))
  const is = Schema.is(Schema.make<Schema.Top>(encoded))
  const sqlType = is(new Date(0))
    ? "timestamptz"
    : is(true) || is(false)
      ? "boolean"
      : is(1.5)
        ? "double precision"
        : is(1) || is(0)
          ? "integer"
          : is(sampleUuid) && !is(notUuid)
            ? "uuid"
            : members.some((member) => SchemaAST.isString(member) || SchemaAST.isLiteral(member))
              ? "text"
              : "jsonb"
  return { sqlType, nullable }
}

const identifierOf = (Model: Model.Any): string | undefined => {
  const identifier = (Model as unknown as { readonly identifier?: unknown }).identifier
  return typeof identifier === "string" && identifier !== "" ? identifier : undefined
}

const kernelIdColumn = "id"

/**
 * Declares an entity: a Model.Class and its table's rules. Checked when declared (a field that does not exist,
 * an order or filter on an unknown field): a wrong declaration is a programming error and throws.
 */
export const make = <
  S extends Model.Any,
  NotFound,
  const Keys extends Record<string, KeySpec<FieldOf<S>>> = Record<never, never>,
  const Refs extends { readonly [F in FieldOf<S>]?: Reference } = Record<never, never>,
  const Filter extends FieldOf<S> = never,
  const Pk extends FieldOf<S> = "id" & FieldOf<S>
>(
  Model: S,
  options: EntityOptions<S, Pk, Keys, Refs, Filter, NotFound>
): Entity<S, Pk, Keys, Refs, Filter, NotFound> => {
  const fields = Model.fields as Record<string, Schema.Top>
  const fieldNames = Object.keys(fields)
  const name = options.name ?? identifierOf(Model) ?? options.table
  const known = (field: string, where: string) => {
    if (!fieldNames.includes(field)) throw new Error(`Entity ${name}: ${where} names "${field}", not a field`)
    return field
  }
  const dot = options.table.indexOf(".")
  const schema = options.schema ?? (dot > 0 ? options.table.slice(0, dot) : undefined)
  const table = options.schema === undefined && dot > 0 ? options.table.slice(dot + 1) : options.table
  const primaryKey = known(options.primaryKey ?? "id", "primaryKey") as Pk
  const sqlTypes = (options.sqlTypes ?? {}) as Record<string, string | undefined>
  const insertFields = Object.keys((Model.insert as unknown as { readonly fields: object }).fields)
  if (!insertFields.includes(primaryKey)) throw new Error(`Entity ${name}: the primary key must be made by the kit`)
  const columns = fieldNames.map((field): Column => {
    const derived = sqlTypeOf(fields[field]!)
    return {
      field,
      name: columnName(field),
      sqlType: sqlTypes[field] ?? derived.sqlType,
      nullable: field === primaryKey ? false : derived.nullable,
      generated: !insertFields.includes(field)
    }
  })
  const keys = Object.entries(options.keys ?? {}).map(([keyName, spec]): UniqueKey => {
    const { columns: keyFields, error } =
      typeof spec === "function" ? { columns: [keyName] as const, error: spec } : spec
    return { name: keyName, fields: keyFields.map((field) => known(field, `key ${keyName}`)), error }
  })
  const references = Object.entries(options.references ?? {}).flatMap(([field, reference]) => {
    if (reference === undefined) return []
    const { to, onDelete = "restrict" } = reference as Reference
    known(field, "references")
    const resolved: ResolvedReference =
      typeof to === "string"
        ? { field, table: to, targetColumn: kernelIdColumn, onDelete, notFound: kernelNotFoundOf(to) }
        : {
            field,
            table: to.qualifiedTable,
            targetColumn: columnName(to.primaryKey),
            onDelete,
            notFound: (id) => new to.notFound({ entity: to.name, id })
          }
    return [resolved]
  })
  if (options.audit !== undefined && !Schema.is(AuditAction)(`${options.audit.namespace}.created`))
    throw new Error(
      `Entity ${name}: audit.namespace "${options.audit.namespace}" is no audit action prefix (e.g. auth.session)`
    )
  const order = (options.order ?? []).map((field) => known(field, "order"))
  // PostgreSQL's now() has microseconds and a JS Date milliseconds: a cursor could not name such a row exactly.
  for (const field of order)
    if (columns.some((column) => column.field === field && column.generated && column.sqlType === "timestamptz"))
      throw new Error(`Entity ${name}: order on "${field}", a timestamp made by the database, is not exact in a cursor`)
  // An order ending with a one-column unique key that is never NULL is already total: no tie for the key to break.
  const last = order.at(-1)
  const endsWithKey = keys.some(
    (key) =>
      key.fields.length === 1 &&
      key.fields[0] === last &&
      columns.some((column) => column.field === last && !column.nullable)
  )
  if (last !== primaryKey && !endsWithKey) order.push(primaryKey)
  return {
    Model,
    name,
    qualifiedTable:
      schema === undefined ? quoteIdentifier(table) : `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`,
    schema,
    table,
    primaryKey,
    columns,
    keys,
    references,
    filters: (options.filters ?? []).map((field) => known(field, "filters") as Filter),
    order,
    audit:
      options.audit === undefined
        ? undefined
        : {
            namespace: options.audit.namespace,
            secret: (options.audit.secret ?? []).map((field) => known(field, "audit.secret"))
          },
    notFound: options.notFound,
    "~options": { keys: options.keys ?? ({} as Keys), references: options.references ?? ({} as Refs) }
  }
}

const unchecked = { disableChecks: true } as const
const kernelNotFoundOf = (table: KernelTable): ((id: string) => unknown) => {
  switch (table) {
    case "users":
      return (id) => new UserNotFound({ id: id as never }, unchecked)
    case "roles":
      return (id) => new RoleNotFound({ id: id as never }, unchecked)
    case "permissions":
      return (id) => new PermissionNotFound({ id: id as never }, unchecked)
  }
}

// The types a declaration gives its repository.

/** A stored row: an instance of the Model. */
export type RowOf<E extends AnyEntity> = E["Model"]["Type"]

/** The primary key's type. */
export type IdOf<E extends AnyEntity> = RowOf<E>[E["primaryKey"]]

type Simplify<A> = { [K in keyof A]: A[K] } & {}

/** What `create` takes: the insert variant's constructor input, the primary key optional (made when absent). */
export type CreateOf<E extends AnyEntity> = Simplify<
  Omit<E["Model"]["insert"]["~type.make.in"], E["primaryKey"]> & {
    readonly [K in E["primaryKey"]]?: IdOf<E>
  }
>

/** What `update` takes: any of the update variant's fields but the primary key. */
export type PatchOf<E extends AnyEntity> = Simplify<
  Partial<Omit<E["Model"]["update"]["~type.make.in"], E["primaryKey"]>>
>

/** The entity's NotFound. */
export type NotFoundOf<E extends AnyEntity> = E["notFound"] extends NotFoundClass<infer NotFound> ? NotFound : never

type KeyErrorOfSpec<Spec> =
  Spec extends KeyTakenClass<infer Error>
    ? Error
    : Spec extends { readonly error: KeyTakenClass<infer Error> }
      ? Error
      : never

/** The errors of the entity's unique keys. */
export type KeyErrorOf<E extends AnyEntity> = {
  [K in keyof E["~options"]["keys"]]: KeyErrorOfSpec<E["~options"]["keys"][K]>
}[keyof E["~options"]["keys"]]

type ReferenceNotFound<To> = To extends KernelTable ? KernelNotFound[To] : To extends AnyEntity ? NotFoundOf<To> : never

/** The NotFound errors of the rows the entity references. */
export type ReferenceErrorOf<E extends AnyEntity> = {
  [K in keyof E["~options"]["references"]]-?: E["~options"]["references"][K] extends { readonly to: infer To }
    ? ReferenceNotFound<To>
    : never
}[keyof E["~options"]["references"]]

/** The fields a listing may filter on. */
export type FilterOf<E extends AnyEntity> = E["filters"][number]
