import { Effect, Schema, SchemaIssue } from "effect"
import { InvalidInput } from "./Errors.ts"

type PathSegment = PropertyKey | { readonly key: PropertyKey }

const segmentKey = (segment: PathSegment): PropertyKey =>
  typeof segment === "object" && segment !== null ? segment.key : segment

const identifier = /^[A-Za-z_$][\w$]*$/
const keyMaxLength = 64

// A key that is not a short identifier (a metadata key of any text) is quoted as a JSON string, cut to
// `keyMaxLength` characters: the field name stays short and printable whatever the key holds (NUL, lone
// surrogates, a megabyte of text).
const quotedKey = (key: string): string =>
  `[${JSON.stringify(key.length > keyMaxLength ? `${key.slice(0, keyMaxLength)}…` : key)}]`

/**
 * Renders a schema path as a field name: `["roles", 0, "name"]` becomes `roles[0].name`, and a key that is
 * not an identifier is quoted: `["metadata", "a b"]` becomes `metadata["a b"]`.
 */
export const formatFieldPath = (path: ReadonlyArray<PathSegment>): string =>
  path.reduce<string>((field, segment) => {
    const key = segmentKey(segment)
    if (typeof key === "number") return `${field}[${key}]`
    const name = String(key)
    if (name.length > keyMaxLength || !identifier.test(name)) return `${field}${quotedKey(name)}`
    return field === "" ? name : `${field}.${name}`
  }, "")

// The Standard Schema formatter flattens the issue tree into (path, message) pairs. Without `reportInput`
// the messages never quote the input, so sensitive values (password hashes) cannot leak into them.
const standardFormatter = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * Turns a schema issue into an `InvalidInput` naming the first failing field path and its rule.
 * `fallbackField` names the value itself when the failure is at the root (e.g. `"email"` for a bare Email).
 */
export const invalidInputFromIssue = (issue: SchemaIssue.Issue, fallbackField = "input"): InvalidInput => {
  const first = standardFormatter(issue).issues[0]
  const path = formatFieldPath(first?.path ?? [])
  return InvalidInput.fromRule(path === "" ? fallbackField : path, first?.message ?? "is invalid")
}

export const invalidInputFromSchemaError = (error: Schema.SchemaError, fallbackField?: string): InvalidInput =>
  invalidInputFromIssue(error.issue, fallbackField)

/** The rule of an input that threw while it was read (a getter, a Proxy trap). */
export const unreadableInputRule = "must be readable: reading it threw"

/**
 * Builds a decoder for untrusted input that fails with `InvalidInput`, so repositories can validate before
 * touching SQL: `decodeInput(Email, "email")(raw)`. Input that throws while it is read (a getter, a Proxy
 * trap) is invalid input too, never a defect.
 */
export const decodeInput = <S extends Schema.Constraint>(schema: S, fallbackField?: string) => {
  const decode = Schema.decodeUnknownEffect(schema)
  const unreadable = InvalidInput.fromRule(fallbackField ?? "input", unreadableInputRule)
  return (input: unknown): Effect.Effect<S["Type"], InvalidInput, S["DecodingServices"]> =>
    Effect.suspend(() => decode(input)).pipe(
      Effect.mapError((error) => invalidInputFromSchemaError(error, fallbackField)),
      Effect.catchDefect(() => Effect.fail(unreadable))
    )
}

/**
 * `decodeInput` for a schema that only checks (its decoded value is its input, as for a branded, filtered
 * string): a valid input is answered at once, with no decode, and only an invalid one goes through the
 * decode for its error. For the hottest inputs (the permission of every check).
 */
export const decodeCheckedInput = <S extends Schema.Constraint>(schema: S, fallbackField?: string) => {
  const is = Schema.is(schema)
  const decode = decodeInput(schema, fallbackField)
  return (input: unknown): Effect.Effect<S["Type"], InvalidInput, S["DecodingServices"]> =>
    is(input) ? Effect.succeed(input) : decode(input)
}
