import { DateTime, Effect, Option, Redacted, Schema, SchemaIssue, SchemaTransformation } from "effect"
import {
  AuditAction,
  AuditLogId,
  AuditLogNotFound,
  AuditMetadataMaxBytes,
  AuditMetadataMaxDepth,
  AuditTargetId,
  decodeCheckedInput,
  decodeInput,
  Email,
  InvalidInput,
  jsonFitsWithin,
  jsonTreeProblem,
  makeCursorCodec,
  newPermissionId,
  newRoleId,
  PageRequest,
  PasswordHash,
  Permission,
  PermissionDescription,
  PermissionId,
  PermissionName,
  PermissionNameMaxLength,
  PermissionNotFound,
  Role,
  RoleDescription,
  RoleId,
  RoleName,
  RoleNotFound,
  UserId,
  UserNotFound
} from "../../Domain/index.ts"
import { optionalInput } from "../../Domain/OptionalInput.ts"
import type { CreatePermission } from "../Repositories/PermissionRepository.ts"
import type { CreateRole } from "../Repositories/RoleRepository.ts"
import { AuditMetadataInput, copyJsonTree } from "./JsonInput.ts"

// The input rules of the repository contracts, applied by the fronts before any store is asked, so that the
// PostgreSQL and the in-memory stores get exactly the same arguments and read each other's cursors.

/**
 * An id as the stores take it: lower-case, as PostgreSQL returns uuids (the batched lookup matches rows by
 * id, and the memory store keys rows by their lower-case id and compares them as text).
 */
export const lowerCaseId = <Id extends string>(id: Id): Id => id.toLowerCase() as Id

/**
 * An id argument checked before it is used: a malformed id names nothing, so callers treat `None` as
 * "not found" instead of letting PostgreSQL reject the whole statement (or a whole batch).
 */
export const validId = <S extends Schema.Top & { readonly Type: string }>(schema: S) => {
  const is = Schema.is(schema)
  return (id: unknown): Option.Option<S["Type"]> => {
    const normalised = typeof id === "string" ? id.toLowerCase() : id
    return is(normalised) ? Option.some(normalised as S["Type"]) : Option.none()
  }
}

/** How an id argument of one kind of row is checked, and the NotFound a malformed or unknown one gives. */
export interface IdRule<Id extends string, NotFound> {
  readonly validId: (id: unknown) => Option.Option<Id>
  readonly notFound: (id: string) => NotFound
}

/** An id argument of a method (`field` is its name), which must be a string, whatever string it is. */
export const idArgument = (field: string, id: unknown): Effect.Effect<string, InvalidInput> =>
  typeof id === "string" ? Effect.succeed(id) : Effect.fail(InvalidInput.fromRule(field, "must be a string"))

/**
 * The id argument `field` checked by `rule`: anything but a string fails with `InvalidInput`; a string that is
 * not an id of the rule's kind fails with the rule's NotFound, reporting it as given.
 */
export const checkId = <Id extends string, NotFound>(
  rule: IdRule<Id, NotFound>,
  field: string,
  id: unknown
): Effect.Effect<Id, NotFound | InvalidInput> => {
  // Checked at once, not in a chain of effects: this runs on every point read.
  if (typeof id !== "string") return Effect.fail(InvalidInput.fromRule(field, "must be a string"))
  const valid = rule.validId(id)
  return Option.isSome(valid) ? Effect.succeed(valid.value) : Effect.fail(rule.notFound(id))
}

/** The row `lookup` found for the (checked) `id`, or the rule's NotFound. */
export const orNotFound = <Id extends string, NotFound, A, E, R>(
  rule: IdRule<Id, NotFound>,
  id: Id,
  lookup: Effect.Effect<Option.Option<A>, E, R>
): Effect.Effect<A, E | NotFound, R> =>
  Effect.flatMap(lookup, Option.match({ onNone: () => Effect.fail(rule.notFound(id)), onSome: Effect.succeed }))

/**
 * What `lookup` finds for the id argument `field`; a malformed id (the store is not asked) or `None` fails with
 * NotFound, anything but a string with `InvalidInput`.
 */
export const lookupById = <Id extends string, NotFound, A, E, R>(
  rule: IdRule<Id, NotFound>,
  field: string,
  id: unknown,
  lookup: (id: Id) => Effect.Effect<Option.Option<A>, E, R>
): Effect.Effect<A, E | NotFound | InvalidInput, R> => {
  if (typeof id !== "string") return Effect.fail(InvalidInput.fromRule(field, "must be a string"))
  const valid = rule.validId(id)
  if (Option.isNone(valid)) return Effect.fail(rule.notFound(id))
  return Effect.flatMap(lookup(valid.value), (found) =>
    Option.isSome(found) ? Effect.succeed(found.value) : Effect.fail(rule.notFound(valid.value))
  )
}

/** An optional request argument: absent (`undefined`) is the empty request; anything else is decoded as given. */
export const requestOrEmpty = (request: unknown): unknown => (request === undefined ? {} : request)

/** The fields of a `ListRequest` (limit 1..500, default 50; optional cursor), to extend with filters. */
const pageFields = PageRequest.fields

export const decodePageRequest = decodeInput(Schema.Struct(pageFields), "request")

/** The text of a `Redacted` string, read once; `undefined` for anything else (a forged Redacted included). */
const redactedTextOf = (value: unknown): string | undefined => {
  try {
    const text = Redacted.isRedacted(value) ? Redacted.value(value) : undefined
    return typeof text === "string" ? text : undefined
  } catch {
    return undefined
  }
}

/**
 * A password hash as the caller gives it: a `Redacted` string, checked as a `PasswordHash`. Anything else is
 * rejected without being described.
 */
export const PasswordHashInput = Schema.Unknown.pipe(
  Schema.decodeTo(
    PasswordHash,
    SchemaTransformation.transformEffect({
      decode: (value: unknown) => {
        const text = redactedTextOf(value)
        return text === undefined
          ? Effect.fail(new SchemaIssue.InvalidValue({ message: "must be a Redacted string" }))
          : Effect.succeed(text)
      },
      encode: (text: string) => Effect.succeed<unknown>(Redacted.make(text))
    })
  )
)

// Not found by id: a malformed id names nothing, and the error still reports what the caller asked for.
const idRule = <Id extends string, NotFound>(
  schema: Schema.Top & { readonly Type: Id },
  notFound: (id: Id) => NotFound
): IdRule<Id, NotFound> => ({ validId: validId(schema), notFound: (id) => notFound(id as Id) })

const unchecked = { disableChecks: true } as const
export const userIdRule = idRule(UserId, (id) => new UserNotFound({ id }, unchecked))
export const roleIdRule = idRule(RoleId, (id) => new RoleNotFound({ id }, unchecked))
export const permissionIdRule = idRule(PermissionId, (id) => new PermissionNotFound({ id }, unchecked))
export const auditLogIdRule = idRule(AuditLogId, (id) => new AuditLogNotFound({ id }, unchecked))

// UserRepository

export const decodeCreateUser = decodeInput(
  Schema.Struct({ email: Email, passwordHash: PasswordHashInput, verified: optionalInput(Schema.Boolean) })
)
export const decodeUpdateUser = decodeInput(
  Schema.Struct({
    email: optionalInput(Email),
    passwordHash: optionalInput(PasswordHashInput),
    verified: optionalInput(Schema.Boolean)
  }),
  "patch"
)
export const decodeEmail = decodeInput(Email, "email")
/** The permission argument of `hasPermission`. */
// PermissionName only checks (it transforms nothing), so a valid name needs no decode.
export const decodePermissionToCheck = decodeCheckedInput(PermissionName, "permission")

/** A validated, non-empty change of a user: what `UserStore.update` writes (no key holds `undefined`). */
export const UserPatch = Schema.Struct({
  email: Schema.optionalKey(Email),
  passwordHash: Schema.optionalKey(PasswordHash),
  verified: Schema.optionalKey(Schema.Boolean)
})
export type UserPatchFields = typeof UserPatch.Type

export const userCursor = makeCursorCodec(Schema.Tuple([UserId]))

// RoleRepository

/** A validated, non-empty change of a role: what `RoleStore.update` writes. */
export const RolePatch = Schema.Struct({
  name: Schema.optionalKey(RoleName),
  description: Schema.optionalKey(RoleDescription)
})
export type RolePatchFields = typeof RolePatch.Type

const roleFields = { name: RoleName, description: optionalInput(RoleDescription) }
const decodeCreateRole = decodeInput(Schema.Struct(roleFields))
export const decodeRolePatch = decodeInput(
  Schema.Struct({ name: optionalInput(RoleName), description: optionalInput(RoleDescription) }),
  "patch"
)

/** Upper bound of the permission names of one `ensureWithPermissions` call. */
export const EnsuredPermissionsMax = 1000

export const decodeEnsureRoleWithPermissions = decodeInput(
  Schema.Struct({
    ...roleFields,
    permissions: Schema.Array(PermissionName).pipe(
      Schema.check(
        Schema.isMaxLength(EnsuredPermissionsMax, { message: `must have at most ${EnsuredPermissionsMax} names` })
      )
    )
  })
)

/** A new role row, with a fresh id. */
export const roleRow = Effect.fnUntraced(function* (fields: {
  readonly name: RoleName
  readonly description?: RoleDescription
}) {
  return Role.insert.make({ id: yield* newRoleId, name: fields.name, description: fields.description ?? "" })
})

/** The role that `create` or `ensure` is asked for, with a fresh id. */
export const newRoleRow = (input: CreateRole) => Effect.flatMap(decodeCreateRole(input), roleRow)
export const decodeRoleName = decodeInput(RoleName, "name")
/** A role name given as an argument of a name-based operation. */
export const decodeRoleNameArgument = decodeInput(RoleName, "roleName")

export const roleCursor = makeCursorCodec(Schema.Tuple([RoleName]))

// PermissionRepository

/** The first segment of a permission name, with the same rule as in PermissionName. */
export const PermissionModule = Schema.String.pipe(
  Schema.check(
    Schema.isMaxLength(PermissionNameMaxLength, {
      message: `must be at most ${PermissionNameMaxLength} characters`
    }),
    Schema.isPattern(/^[a-z][a-z0-9_]*$/, {
      message: "must be a lowercase letter followed by lowercase letters, digits or '_'"
    })
  )
)

const decodeCreatePermission = decodeInput(
  Schema.Struct({ name: PermissionName, description: optionalInput(PermissionDescription) })
)
export const decodePermissionName = decodeInput(PermissionName, "name")
/** A permission name given as an argument of a name-based operation. */
export const decodePermissionNameArgument = decodeInput(PermissionName, "permissionName")

/** A new permission row, with a fresh id. */
export const permissionRow = Effect.fnUntraced(function* (fields: {
  readonly name: PermissionName
  readonly description?: PermissionDescription
}) {
  return Permission.insert.make({
    id: yield* newPermissionId,
    name: fields.name,
    description: fields.description ?? ""
  })
})

/** The permission that `create` or `ensure` is asked for, with a fresh id. */
export const newPermissionRow = (input: CreatePermission) =>
  Effect.flatMap(decodeCreatePermission(input), permissionRow)
export const decodeListPermissions = decodeInput(
  Schema.Struct({ ...pageFields, module: optionalInput(PermissionModule) }),
  "request"
)

export const permissionCursor = makeCursorCodec(Schema.Tuple([PermissionName]))

// AuditLogRepository

export const AuditEntry = Schema.Struct({
  action: AuditAction,
  targetId: optionalInput(AuditTargetId),
  metadata: optionalInput(AuditMetadataInput),
  actorId: optionalInput(Schema.NullOr(UserId))
})
/** `decodeAuditEntry` by the schema alone (what the fast path must agree with; exported for its test). */
export const decodeAuditEntryBySchema = decodeInput(AuditEntry, "entry")
/** `decodeAuditEntries` by the schema alone (what the fast path must agree with; exported for its test). */
export const decodeAuditEntriesBySchema = decodeInput(Schema.Struct({ entries: Schema.Array(AuditEntry) }), "entries")

const isAuditAction = Schema.is(AuditAction)
const isAuditTargetId = Schema.is(AuditTargetId)
const isActorId = Schema.is(Schema.NullOr(UserId))

const isPlainRecord = (value: unknown): value is { readonly [key: string]: unknown } => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

/**
 * Whether a tree made by `copyJsonTree` (arrays and plain objects of its own) holds only strings, finite
 * numbers, booleans and null: a subset of what `Schema.Json` accepts. Without recursion: the depth is bounded
 * by the copy, but an explicit stack costs nothing more.
 */
const isJsonCopy = (root: unknown): boolean => {
  const pending: Array<unknown> = [root]
  while (pending.length > 0) {
    const value = pending.pop()
    switch (typeof value) {
      case "string":
      case "boolean":
        continue
      case "number":
        if (!Number.isFinite(value)) return false
        continue
      case "object": {
        if (value === null) continue
        if (Array.isArray(value)) {
          for (const item of value) pending.push(item)
          continue
        }
        if (!isPlainRecord(value)) return false
        for (const key of Object.keys(value)) {
          if (key === "__proto__") return false
          pending.push((value as { readonly [key: string]: unknown })[key])
        }
        continue
      }
      default:
        return false
    }
  }
  return true
}

/**
 * One audit entry as `AuditEntry` decodes it, when it is plainly valid: each field read once, checked by the
 * same rules (the domain schemas' own `is`, and for metadata the copy and the filters of `AuditMetadata`), and
 * built with the same keys in the same order. `undefined` when anything is not plainly valid (or throws): the
 * schema then decides, and words the error.
 */
const plainAuditEntry = (entry: unknown): typeof AuditEntry.Type | undefined => {
  if (!isPlainRecord(entry)) return undefined
  const { action, targetId, metadata, actorId } = entry
  if (!isAuditAction(action)) return undefined
  if (targetId !== undefined && !isAuditTargetId(targetId)) return undefined
  if (actorId !== undefined && !isActorId(actorId)) return undefined
  let copied: Schema.JsonObject | undefined
  if (metadata !== undefined) {
    if (!isPlainRecord(metadata)) return undefined
    const copy = copyJsonTree(metadata, { maxDepth: AuditMetadataMaxDepth, maxNodes: AuditMetadataMaxBytes })
    if (copy._tag === "Refused" || !isJsonCopy(copy.value)) return undefined
    copied = copy.value as Schema.JsonObject
    if (jsonTreeProblem(copied, AuditMetadataMaxDepth) !== undefined || !jsonFitsWithin(copied, AuditMetadataMaxBytes))
      return undefined
  }
  const decoded: {
    action: AuditAction
    targetId?: AuditTargetId
    metadata?: Schema.JsonObject
    actorId?: UserId | null
  } = { action }
  if (targetId !== undefined) decoded.targetId = targetId
  if (copied !== undefined) decoded.metadata = copied
  if (actorId !== undefined) decoded.actorId = actorId
  return decoded as typeof AuditEntry.Type
}

/** One entry of `append`, as `decodeAuditEntryBySchema` decodes it: by hand when plainly valid (see below). */
export const decodeAuditEntry = (input: unknown): Effect.Effect<typeof AuditEntry.Type, InvalidInput> => {
  try {
    const entry = plainAuditEntry(input)
    if (entry !== undefined) return Effect.succeed(entry)
  } catch {
    // A getter or a Proxy that throws: the schema's decode words it.
  }
  return decodeAuditEntryBySchema(input)
}

/**
 * `{ entries }` of `appendMany`, validated: each entry by `plainAuditEntry` (a 1,000-entry call spent about
 * 4 µs an entry in the interpreted schema), and the whole input by the schema as soon as one entry is not
 * plainly valid, so that every error is the schema's, worded and located as before.
 */
export const decodeAuditEntries = (
  input: unknown
): Effect.Effect<{ readonly entries: ReadonlyArray<typeof AuditEntry.Type> }, InvalidInput> => {
  try {
    const entries = isPlainRecord(input) ? input.entries : undefined
    if (Array.isArray(entries)) {
      const decoded: Array<typeof AuditEntry.Type> = new Array(entries.length)
      let index = 0
      for (; index < entries.length; index++) {
        const entry = plainAuditEntry(entries[index])
        if (entry === undefined) break
        decoded[index] = entry
      }
      if (index === entries.length) return Effect.succeed({ entries: decoded })
    }
  } catch {
    // A getter or a Proxy that throws: the schema's decode words it.
  }
  return decodeAuditEntriesBySchema(input)
}

// The instants both PostgreSQL's timestamptz (from 4714-11-24 00:00:00 UTC BC) and JavaScript's Date (up to
// 275760-09-13) can hold, in milliseconds since the epoch: a bound outside them would fail in the database.
const postgresMinEpochMillis = -210_866_803_200_000
const dateMaxEpochMillis = 8_640_000_000_000_000
const timeBoundRule = "must be a DateTime between 4714-11-24 BC and 275760-09-13 AD"

/** A time bound of a listing: a DateTime within the common range, read once into a fresh UTC DateTime. */
const TimeBound = Schema.Unknown.pipe(
  Schema.decodeTo(
    Schema.DateTimeUtc,
    SchemaTransformation.transformEffect({
      decode: (value: unknown) => {
        const millis = DateTime.isDateTime(value) ? DateTime.toEpochMillis(value) : undefined
        return typeof millis === "number" && millis >= postgresMinEpochMillis && millis <= dateMaxEpochMillis
          ? Effect.succeed(DateTime.makeUnsafe(millis))
          : Effect.fail(new SchemaIssue.InvalidValue({ message: timeBoundRule }))
      },
      encode: (bound: DateTime.Utc) => Effect.succeed<unknown>(bound)
    })
  )
)

export const decodeListAuditLogs = decodeInput(
  Schema.Struct({
    ...pageFields,
    actorId: optionalInput(UserId),
    targetId: optionalInput(AuditTargetId),
    action: optionalInput(AuditAction),
    from: optionalInput(TimeBound),
    to: optionalInput(TimeBound)
  }),
  "request"
)

// PostgreSQL keeps microseconds and a JS Date only milliseconds, so the cursor carries the exact timestamp
// as microseconds since the epoch (text: it exceeds 2^53 only in the year 2255, but text is exact anyway).
export const EpochMicroseconds = Schema.String.pipe(Schema.check(Schema.isPattern(/^-?\d{1,19}$/)))

// A cursor's timestamp is one a row can have: within the same common range, in microseconds. Checked before
// the cursor reaches SQL, where a forged one would overflow bigint, interval or timestamptz.
const postgresMinEpochMicros = BigInt(postgresMinEpochMillis) * 1000n
const dateMaxEpochMicros = BigInt(dateMaxEpochMillis) * 1000n
const CursorEpochMicroseconds = EpochMicroseconds.pipe(
  Schema.check(
    Schema.makeFilter((text: string) => {
      const micros = BigInt(text)
      return micros >= postgresMinEpochMicros && micros <= dateMaxEpochMicros
    })
  )
)
export const auditCursor = makeCursorCodec(Schema.Tuple([CursorEpochMicroseconds, AuditLogId]))
