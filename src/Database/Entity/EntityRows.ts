import { DateTime, type Effect, Exit, Schema, SchemaAST } from "effect"
import { construct, decodeRowsWith, decodeRowWith, type Row } from "../Postgres/Rows.ts"
import type { AnyEntity } from "./Entity.ts"

/*
 * A declared entity's rows decoded without the Schema interpreter on the way (issue 17): a decoder per field,
 * chosen once from the Model's select fields when the repository is built, and the instance made as the
 * Schema makes it. The driver already gives each column its JS type (text and uuid a string, timestamptz a
 * Date...); what it does not guarantee, the rules of the field's schema (a UUID's form, a length, a pattern),
 * is still checked. A row a field decoder refuses is decoded by the Model's schema instead, so it decodes or
 * fails exactly as it did (test/Database/Entity/EntityRows.test.ts compares both on real rows).
 *
 * - a field that decodes to itself (a string, number, boolean, literal or null, or a union of them, with any
 *   checks and brands): the value as given, when the type's `is` accepts it (a plain `typeof` without checks);
 * - `Schema.DateTimeUtcFromDate` (also the select side of `Model.DateTimeInsertFromDate`/`UpdateFromDate`): a
 *   valid Date as a `DateTime.Utc`, what its transformation gives;
 * - any other field (a Redacted, an Option, a JSON value, an optional key...): that field's own schema, run
 *   synchronously; only a Model whose class or struct adds checks of its own keeps the whole-row Schema decode.
 */

/** What a field decoder returns for a value it leaves to the Model's schema. */
const refused: unique symbol = Symbol("refused")
type FieldDecoder = (value: unknown) => unknown

const dateTimeUtcFromDate = Schema.DateTimeUtcFromDate.ast

/** A schema that decodes a value to itself: no transformation anywhere, only primitives (checks allowed). */
const decodesToItself = (ast: SchemaAST.AST): boolean =>
  ast.encoding === undefined &&
  ast.context?.isOptional !== true &&
  (SchemaAST.isUnion(ast)
    ? ast.types.every(decodesToItself)
    : SchemaAST.isString(ast) ||
      SchemaAST.isNumber(ast) ||
      SchemaAST.isBoolean(ast) ||
      SchemaAST.isLiteral(ast) ||
      SchemaAST.isNull(ast))

const fieldDecoder = (field: Schema.Top): FieldDecoder => {
  const ast = field.ast
  if (decodesToItself(ast)) {
    // Without checks a string or a boolean is whatever the driver's type says; else the schema's own test.
    if (ast.checks === undefined && SchemaAST.isString(ast))
      return (value) => (typeof value === "string" ? value : refused)
    if (ast.checks === undefined && SchemaAST.isBoolean(ast))
      return (value) => (typeof value === "boolean" ? value : refused)
    const is = Schema.is(Schema.make<Schema.Top>(SchemaAST.toType(ast)))
    return (value) => (is(value) ? value : refused)
  }
  if (ast === dateTimeUtcFromDate)
    return (value) =>
      value instanceof Date && !Number.isNaN(value.getTime()) ? DateTime.fromDateUnsafe(value) : refused
  const decode = Schema.decodeUnknownExit(field as Schema.Decoder<unknown>)
  return (value) => {
    const exit = decode(value)
    return Exit.isSuccess(exit) ? exit.value : refused
  }
}

/** The Model's own checks (on the class or on its struct): a row decoded field by field would skip them. */
const hasModelChecks = (ast: SchemaAST.AST): boolean =>
  ast.checks !== undefined || (ast.encoding?.some((link) => link.to.checks !== undefined) ?? false)

/**
 * The fast decoder of the entity's rows (keyed by field, as the kit selects them): the row as the Model's
 * instance, or `undefined` when a field refuses its value (the caller then decodes the row with the Model).
 * `undefined` itself when the Model is no `Model.Class` or adds checks of its own.
 */
export const fastRowDecoder = <E extends AnyEntity>(
  entity: E
): ((row: Row) => E["Model"]["Type"] | undefined) | undefined => {
  const Model = entity.Model as Schema.Top & { readonly fields: Record<string, Schema.Top> }
  const isClass = typeof Model === "function" && SchemaAST.isDeclaration(Model.ast)
  if (!isClass || hasModelChecks(Model.ast)) return undefined
  const names = Object.keys(Model.fields)
  const decoders = names.map((name) => fieldDecoder(Model.fields[name]!))
  const Class = Model as unknown as new (fields: never) => E["Model"]["Type"]
  return (row) => {
    const fields: Record<string, unknown> = {}
    for (let index = 0; index < names.length; index++) {
      const name = names[index]!
      // A missing column is left to the schema (an optional key, or a statement that lost it).
      if (!Object.hasOwn(row, name)) return undefined
      const value = decoders[index]!(row[name])
      if (value === refused) return undefined
      fields[name] = value
    }
    return construct(Class, fields)
  }
}

/** One row and many rows of the entity, decoded fast where they fit and by the Model's schema otherwise. */
export const entityRowDecoders = <E extends AnyEntity>(
  entity: E
): {
  readonly decodeRow: (row: unknown) => Effect.Effect<E["Model"]["Type"], Schema.SchemaError>
  readonly decodeRows: (
    rows: ReadonlyArray<unknown>
  ) => Effect.Effect<ReadonlyArray<E["Model"]["Type"]>, Schema.SchemaError>
} => {
  type A = E["Model"]["Type"]
  const Model = entity.Model as Schema.Decoder<A>
  const fast = fastRowDecoder(entity) ?? (() => undefined)
  return { decodeRow: decodeRowWith(Model, fast), decodeRows: decodeRowsWith(Model, fast) }
}
