import { Schema } from "effect"
import { storableTextProblem } from "./StorableText.ts"

/** Upper bound of the UTF-8 JSON encoding of audit metadata (16 KiB). */
export const AuditMetadataMaxBytes = 16 * 1024

/** Upper bound of the nesting of audit metadata: the object itself is level 1. */
export const AuditMetadataMaxDepth = 32

export const auditMetadataTooDeep = `must be nested at most ${AuditMetadataMaxDepth} levels deep`
export const auditMetadataTooLarge = `must encode to at most ${AuditMetadataMaxBytes} bytes of JSON`

const utf8 = new TextEncoder()

/** Size in bytes of the compact UTF-8 JSON text of a value, as it is sent to the jsonb column. */
export const jsonByteLength = (value: unknown): number => utf8.encode(JSON.stringify(value)).byteLength

// The most bytes one JSON leaf can take: a string's UTF-16 unit at most 6 (escaped as \uXXXX), a finite number
// 24 ("-2.2250738585072014e-308"), `false` 5.
const maxBytesPerStringUnit = 6
const maxNumberBytes = 24

/**
 * An upper bound of `jsonByteLength(value)`, computed without building the text; `Infinity` as soon as the
 * bound passes `limit`, so a large value is not walked to its end.
 */
const jsonByteBound = (root: Schema.Json, limit: number): number => {
  const pending: Array<Schema.Json> = [root]
  let bound = 0
  while (pending.length > 0) {
    const value = pending.pop()!
    if (typeof value === "string") bound += 2 + maxBytesPerStringUnit * value.length
    else if (typeof value === "number") bound += maxNumberBytes
    else if (typeof value !== "object" || value === null) bound += 5
    else if (Array.isArray(value)) {
      // Brackets and one comma per item (one too many: a bound).
      bound += 2 + value.length
      for (const item of value) pending.push(item)
    } else {
      // Braces, and per member its quoted key, a colon and a comma.
      bound += 2
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue
        bound += 4 + maxBytesPerStringUnit * key.length
        pending.push((value as Schema.JsonObject)[key]!)
      }
    }
    if (bound > limit) return Number.POSITIVE_INFINITY
  }
  return bound
}

/**
 * Whether the compact UTF-8 JSON text of `value` fits in `maxBytes`. Most values are far below the limit, and a
 * walk that bounds the size proves it without serialising; only a value whose bound exceeds the limit is
 * serialised and measured exactly.
 */
export const jsonFitsWithin = (value: Schema.Json, maxBytes: number): boolean =>
  jsonByteBound(value, maxBytes) <= maxBytes || jsonByteLength(value) <= maxBytes

/** The first place in a JSON value where it nests too deep or holds text that cannot be stored as given. */
export interface JsonProblem {
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
}

/**
 * Walks a JSON value without recursion (so any nesting is safe to inspect) and reports the first container
 * nested deeper than `maxDepth`, or the first key or string PostgreSQL would not store as given.
 */
export const jsonTreeProblem = (root: Schema.Json, maxDepth: number): JsonProblem | undefined => {
  const pending: Array<{ readonly value: Schema.Json; readonly path: ReadonlyArray<PropertyKey> }> = [
    { value: root, path: [] }
  ]
  while (pending.length > 0) {
    const { value, path } = pending.pop()!
    if (typeof value === "string") {
      const problem = storableTextProblem(value)
      if (problem !== undefined) return { path, message: problem }
    } else if (typeof value === "object" && value !== null) {
      if (path.length >= maxDepth) return { path, message: auditMetadataTooDeep }
      if (Array.isArray(value))
        for (const [index, item] of value.entries()) pending.push({ value: item, path: [...path, index] })
      else
        for (const [key, item] of Object.entries(value)) {
          const problem = storableTextProblem(key)
          if (problem !== undefined) return { path: [...path, key], message: `keys ${problem}` }
          pending.push({ value: item, path: [...path, key] })
        }
    }
  }
  return undefined
}

/**
 * A JSON object (never an array or a scalar), nested at most `AuditMetadataMaxDepth` levels, whose keys and
 * strings PostgreSQL stores as given (no NUL, no lone surrogate), and whose JSON encoding fits in
 * `AuditMetadataMaxBytes`. The nesting is checked first and without recursion, so no input can exhaust the
 * stack.
 */
export const AuditMetadata = Schema.JsonObject.annotate({ message: "must be a JSON object" }).pipe(
  Schema.check(
    Schema.makeFilter(
      (metadata: Schema.JsonObject) => {
        const problem = jsonTreeProblem(metadata, AuditMetadataMaxDepth)
        return problem === undefined ? undefined : { path: problem.path, issue: problem.message }
      },
      undefined,
      true
    ),
    Schema.makeFilter((metadata: Schema.JsonObject) => jsonFitsWithin(metadata, AuditMetadataMaxBytes), {
      message: auditMetadataTooLarge
    })
  )
)
export type AuditMetadata = typeof AuditMetadata.Type
