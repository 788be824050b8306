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
    Schema.makeFilter((metadata: Schema.JsonObject) => jsonByteLength(metadata) <= AuditMetadataMaxBytes, {
      message: auditMetadataTooLarge
    })
  )
)
export type AuditMetadata = typeof AuditMetadata.Type
