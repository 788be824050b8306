import { Effect, Schema, SchemaIssue, SchemaTransformation } from "effect"
import {
  AuditMetadata,
  AuditMetadataMaxBytes,
  AuditMetadataMaxDepth,
  auditMetadataTooDeep,
  auditMetadataTooLarge,
  unreadableInputRule
} from "../../Domain/index.ts"

/** A copy of a caller's value, or where and why it could not be made. */
export type JsonCopy =
  | { readonly _tag: "Copied"; readonly value: unknown }
  | { readonly _tag: "Refused"; readonly path: ReadonlyArray<PropertyKey>; readonly rule: string }

const isPlainObject = (value: object): boolean => {
  const prototype = Object.getPrototypeOf(value)
  // A plain object of another realm has another Object.prototype, itself without a prototype.
  return prototype === null || prototype === Object.prototype || Object.getPrototypeOf(prototype) === null
}

type Container = Record<PropertyKey, unknown>

/** A container being copied: its members are read one by one, in the order of `keys` (or indices). */
interface Frame {
  readonly source: Container
  readonly target: Container
  readonly keys: ReadonlyArray<string> | number
  readonly path: ReadonlyArray<PropertyKey>
  index: number
}

/** An empty copy of an array or a plain object; anything else is kept as it is. */
const emptyCopyOf = (value: unknown): unknown => {
  if (typeof value !== "object" || value === null) return value
  if (Array.isArray(value)) return new Array<unknown>(value.length)
  return isPlainObject(value) ? {} : value
}

/**
 * A copy of the arrays and plain objects of `root`, each member read exactly once and without recursion:
 * what is validated afterwards is what is stored, even if a getter would answer differently on a second
 * read or the caller changes the value later. Anything else (a Date, a Map, a function...) is kept as it is,
 * for the schema to reject. Refuses containers nested deeper than `maxDepth` (so a cycle too), more than
 * `maxNodes` members, and a value that throws when read, naming where.
 */
export const copyJsonTree = (
  root: unknown,
  limits: { readonly maxDepth: number; readonly maxNodes: number }
): JsonCopy => {
  const frames: Array<Frame> = []
  // Where reading is, to name the place of a throw.
  let reading: ReadonlyArray<PropertyKey> = []
  let nodes = 0
  const refuse = (path: ReadonlyArray<PropertyKey>, rule: string): JsonCopy => ({ _tag: "Refused", path, rule })
  // Starts copying the members of `source` into `target`, unless `source` is kept as it is.
  const open = (source: unknown, target: unknown, path: ReadonlyArray<PropertyKey>): JsonCopy | undefined => {
    if (target === source) return undefined
    if (path.length >= limits.maxDepth) return refuse(path, auditMetadataTooDeep)
    const container = source as Container
    reading = path
    const keys = Array.isArray(container) ? container.length : Object.keys(container)
    frames.push({ source: container, target: target as Container, keys, path, index: 0 })
    return undefined
  }
  try {
    const copy = emptyCopyOf(root)
    const refused = open(root, copy, [])
    if (refused !== undefined) return refused
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!
      const count = typeof frame.keys === "number" ? frame.keys : frame.keys.length
      if (frame.index >= count) {
        frames.pop()
        continue
      }
      const key = typeof frame.keys === "number" ? frame.index : frame.keys[frame.index]!
      frame.index++
      if (++nodes > limits.maxNodes) return refuse(frame.path, auditMetadataTooLarge)
      reading = [...frame.path, key]
      const value = frame.source[key]
      const member = emptyCopyOf(value)
      // Assigning "__proto__" would set the prototype instead of adding the member JSON.parse makes.
      if (key === "__proto__")
        Object.defineProperty(frame.target, key, {
          value: member,
          enumerable: true,
          writable: true,
          configurable: true
        })
      else frame.target[key] = member
      const deeper = open(value, member, reading)
      if (deeper !== undefined) return deeper
    }
    return { _tag: "Copied", value: copy }
  } catch {
    return refuse(reading, unreadableInputRule)
  }
}

/**
 * Audit metadata as a caller passes it: copied (`copyJsonTree`, bounded by the metadata's own limits of
 * nesting and size) before it is validated as `AuditMetadata`.
 */
export const AuditMetadataInput = Schema.Unknown.pipe(
  Schema.decodeTo(
    AuditMetadata,
    SchemaTransformation.transformEffect({
      decode: (value: unknown) => {
        const copy = copyJsonTree(value, { maxDepth: AuditMetadataMaxDepth, maxNodes: AuditMetadataMaxBytes })
        if (copy._tag === "Refused")
          return Effect.fail(new SchemaIssue.Pointer(copy.path, new SchemaIssue.InvalidValue({ message: copy.rule })))
        // An object kept as it is was no plain object (a Date, a Map...): as a record it would read as {}.
        if (copy.value === value && typeof value === "object" && value !== null)
          return Effect.fail(new SchemaIssue.InvalidValue({ message: "must be a JSON object" }))
        return Effect.succeed(copy.value as Schema.JsonObject)
      },
      encode: (metadata: Schema.JsonObject) => Effect.succeed<unknown>(metadata)
    })
  )
)
