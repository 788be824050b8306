import { DateTime, Effect, Option, Redacted, Schema } from "effect"
import {
  AuditAction,
  AuditLogId,
  AuditLogNotFound,
  AuditMetadata,
  AuditTargetId,
  decodeInput,
  Email,
  InvalidInput,
  makeCursorCodec,
  newPermissionId,
  newRoleId,
  PageRequest,
  PasswordHash,
  Permission,
  PermissionDescription,
  PermissionId,
  PermissionName,
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

/** The id argument checked by `rule`: a malformed one fails with the rule's NotFound, reporting it as given. */
export const checkId = <Id extends string, NotFound>(
  rule: IdRule<Id, NotFound>,
  id: string
): Effect.Effect<Id, NotFound> =>
  Option.match(rule.validId(id), { onNone: () => Effect.fail(rule.notFound(id)), onSome: Effect.succeed })

/** The row `lookup` found for the (checked) `id`, or the rule's NotFound. */
export const orNotFound = <Id extends string, NotFound, A, E, R>(
  rule: IdRule<Id, NotFound>,
  id: Id,
  lookup: Effect.Effect<Option.Option<A>, E, R>
): Effect.Effect<A, E | NotFound, R> =>
  Effect.flatMap(lookup, Option.match({ onNone: () => Effect.fail(rule.notFound(id)), onSome: Effect.succeed }))

/** What `lookup` finds for the id argument; a malformed id (the store is not asked) or `None` fails with NotFound. */
export const lookupById = <Id extends string, NotFound, A, E, R>(
  rule: IdRule<Id, NotFound>,
  id: string,
  lookup: (id: Id) => Effect.Effect<Option.Option<A>, E, R>
): Effect.Effect<A, E | NotFound, R> =>
  Effect.flatMap(checkId(rule, id), (validId) => orNotFound(rule, validId, lookup(validId)))

/** The fields of a `ListRequest` (limit 1..500, default 50; optional cursor), to extend with filters. */
const pageFields = PageRequest.fields

export const decodePageRequest = decodeInput(Schema.Struct(pageFields), "request")

/** `Redacted` text checked by `decode`; anything else is rejected without being described. */
export const redactedText = <A>(
  field: string,
  value: unknown,
  decode: (text: string) => Effect.Effect<A, InvalidInput>
): Effect.Effect<A, InvalidInput> => {
  const text = Redacted.isRedacted(value) ? Redacted.value(value) : undefined
  return typeof text === "string"
    ? decode(text)
    : Effect.fail(InvalidInput.fromRule(field, "must be a Redacted string"))
}

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

// UserRepository. The password hash is checked apart, with `redactedText`, so it is never described.

export const decodeCreateUser = decodeInput(Schema.Struct({ email: Email, verified: optionalInput(Schema.Boolean) }))
export const decodeUpdateUser = decodeInput(
  Schema.Struct({ email: optionalInput(Email), verified: optionalInput(Schema.Boolean) })
)
export const decodeEmail = decodeInput(Email, "email")
/** The permission argument of `hasPermission`. */
export const decodePermissionToCheck = decodeInput(PermissionName, "permission")

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
  Schema.Struct({ name: optionalInput(RoleName), description: optionalInput(RoleDescription) })
)
export const decodeEnsureRoleWithPermissions = decodeInput(
  Schema.Struct({ ...roleFields, permissions: Schema.Array(PermissionName) })
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
  metadata: optionalInput(AuditMetadata),
  actorId: optionalInput(Schema.NullOr(UserId))
})
export const decodeAuditEntry = decodeInput(AuditEntry)
export const decodeAuditEntries = decodeInput(Schema.Struct({ entries: Schema.Array(AuditEntry) }))

const AnyDateTime = Schema.declare(DateTime.isDateTime, { message: "must be a DateTime" })
export const decodeListAuditLogs = decodeInput(
  Schema.Struct({
    ...pageFields,
    actorId: optionalInput(UserId),
    targetId: optionalInput(AuditTargetId),
    action: optionalInput(AuditAction),
    from: optionalInput(AnyDateTime),
    to: optionalInput(AnyDateTime)
  }),
  "request"
)

// PostgreSQL keeps microseconds and a JS Date only milliseconds, so the cursor carries the exact timestamp
// as microseconds since the epoch (text: it exceeds 2^53 only in the year 2255, but text is exact anyway).
export const EpochMicroseconds = Schema.String.pipe(Schema.check(Schema.isPattern(/^-?\d{1,19}$/)))
export const auditCursor = makeCursorCodec(Schema.Tuple([EpochMicroseconds, AuditLogId]))
