import { DateTime, Effect, Option, Redacted, Schema, SchemaTransformation } from "effect"
import {
  AuditLog,
  AuditMetadataMaxBytes,
  AuditMetadataMaxDepth,
  AuditTargetIdMaxLength,
  DescriptionMaxLength,
  isNormalisedEmail,
  jsonFitsWithin,
  PasswordHashMaxLength,
  Permission,
  PermissionNameMaxLength,
  Role,
  RoleWithPermissions,
  User,
  UserWithAccess
} from "../../Domain/index.ts"

/*
 * Trusted decoders of the rows PostgreSQL returns: the domain values are built directly from the driver's values,
 * and only the rules the database does not already enforce are checked. A row that fails one of those checks
 * is decoded with the Model's own schema instead, so it fails exactly as before (a defect, see Front/Operation)
 * and a row that passes gives the very value the schema would have given (test/Database/Repositories/Rows.test.ts
 * compares both on real rows).
 *
 * What the schema (migrations/0002, 0003) guarantees, hence is not checked again:
 * - uuid columns: a valid UUID, in PostgreSQL's lower-case text form (ids, actor_id);
 * - boolean NOT NULL (verified); jsonb: JSON with no NUL and no lone surrogate (text in UTF-8 has neither),
 *   so every text and key is storable; `text` likewise;
 * - CHECK constraints equal to the domain rule: roles_name_format (RoleName), audit_logs_action_format
 *   (AuditAction, pattern and length), audit_logs_metadata_object (a JSON object), the permission name pattern.
 * What it does not guarantee, hence is checked here:
 * - e-mail: only its length (3..254): the address pattern and lower case;
 * - password hash: only non-empty: not blank, at most PasswordHashMaxLength;
 * - permission name: its length; descriptions and audit target ids: length (and target ids not blank);
 * - audit metadata: nesting depth, size, and finite numbers (jsonb holds 1e400, which parses to Infinity);
 * - timestamptz: a valid Date ('infinity' is a valid timestamptz but no valid Date).
 */

export type Row = { readonly [column: string]: unknown }

// Cheap checks that each column is there with the driver's type for it: they cost nanoseconds and keep a
// statement that lost a column (a SELECT list edited by mistake) failing as loudly as the schema would.
const isText = (value: unknown): value is string => typeof value === "string"

type ModelClass<A> = new (fields: never, options?: { readonly disableChecks?: boolean }) => A

// Effect builds a decoded Class instance with `makeClassTrusted` (fields already valid, no second parse). It is
// marked internal, so it is looked up defensively: without it, the public constructor with `disableChecks`
// gives the same instance, only slower (it still parses the fields' types).
const makeClassTrusted = (Schema as unknown as { readonly makeClassTrusted?: unknown }).makeClassTrusted as
  | (<A>(Class: ModelClass<A>, fields: object) => A)
  | undefined

/** An instance of a Model class from fields that are valid by construction. */
export const construct = <A>(Class: ModelClass<A>, fields: object): A =>
  makeClassTrusted === undefined ? new Class(fields as never, { disableChecks: true }) : makeClassTrusted(Class, fields)

const notBlank = /\S/

const validDate = (value: unknown): value is Date => value instanceof Date && !Number.isNaN(value.getTime())

const utc = (date: Date): DateTime.Utc => DateTime.fromDateUnsafe(date)

const descriptionOk = (value: unknown): value is string =>
  typeof value === "string" && value.length <= DescriptionMaxLength

/** An audit target id or NULL: any text in SQL, so the domain's bounds are checked. */
const targetIdOk = (value: unknown): value is string | null =>
  value === null || (typeof value === "string" && value.length <= AuditTargetIdMaxLength && notBlank.test(value))

/**
 * Audit metadata read from jsonb (an object, by the CHECK): nested at most AuditMetadataMaxDepth levels, with
 * finite numbers only, and small enough. Walked without recursion and without building paths.
 */
const metadataOk = (value: unknown): value is Schema.JsonObject => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false
  const pending: Array<{ readonly value: unknown; readonly depth: number }> = [{ value, depth: 1 }]
  while (pending.length > 0) {
    const next = pending.pop()!
    const node = next.value
    if (typeof node === "number") {
      if (!Number.isFinite(node)) return false
    } else if (typeof node === "object" && node !== null) {
      if (next.depth > AuditMetadataMaxDepth) return false
      const depth = next.depth + 1
      if (Array.isArray(node)) for (const item of node) pending.push({ value: item, depth })
      else for (const key of Object.keys(node)) pending.push({ value: (node as Row)[key], depth })
    }
  }
  return jsonFitsWithin(value as Schema.JsonObject, AuditMetadataMaxBytes)
}

/** A `User` from a row of `users` (camelCase names), or `undefined` when a rule the database lacks fails. */
export const userFromRow = (row: Row): User | undefined => {
  const { id, email, passwordHash, verified, createdAt, updatedAt } = row
  if (
    !isText(id) ||
    typeof verified !== "boolean" ||
    typeof email !== "string" ||
    !isNormalisedEmail(email) ||
    typeof passwordHash !== "string" ||
    passwordHash.length > PasswordHashMaxLength ||
    !notBlank.test(passwordHash) ||
    !validDate(createdAt) ||
    !validDate(updatedAt)
  )
    return undefined
  return construct(User, {
    id,
    email,
    passwordHash: Redacted.make(passwordHash),
    verified,
    createdAt: utc(createdAt),
    updatedAt: utc(updatedAt)
  })
}

/** A `Role` from a row of `roles`; the name is roles_name_format's. */
export const roleFromRow = (row: Row): Role | undefined => roleWithCreatedAt(row, row.createdAt)

// The columns of a role, with `createdAt` given apart: a Date from the driver, or one read from json text.
const roleWithCreatedAt = (row: Row, createdAt: unknown): Role | undefined => {
  const { id, name, description } = row
  if (!isText(id) || !isText(name) || !descriptionOk(description) || !validDate(createdAt)) return undefined
  return construct(Role, { id, name, description, createdAt: utc(createdAt) })
}

/** A `Permission` from a row of `permissions`; the name's pattern is permissions_name_format's. */
export const permissionFromRow = (row: Row): Permission | undefined => permissionWithCreatedAt(row, row.createdAt)

const permissionWithCreatedAt = (row: Row, createdAt: unknown): Permission | undefined => {
  const { id, name, description } = row
  if (
    !isText(id) ||
    typeof name !== "string" ||
    name.length > PermissionNameMaxLength ||
    !descriptionOk(description) ||
    !validDate(createdAt)
  )
    return undefined
  return construct(Permission, { id, name, description, createdAt: utc(createdAt) })
}

/** An `AuditLog` from a row of `audit_logs`; the action is audit_logs_action_format's. */
export const auditLogFromRow = (row: Row): AuditLog | undefined => {
  const { id, actorId, action, targetId, metadata, timestamp } = row
  if (
    !isText(id) ||
    !(actorId === null || isText(actorId)) ||
    !isText(action) ||
    !targetIdOk(targetId) ||
    !metadataOk(metadata) ||
    !validDate(timestamp)
  )
    return undefined
  return construct(AuditLog, {
    id,
    actorId: actorId === null ? Option.none() : Option.some(actorId),
    action,
    targetId: targetId === null ? Option.none() : Option.some(targetId),
    metadata,
    timestamp: utc(timestamp)
  })
}

/**
 * `json_build_object` writes a timestamptz as ISO text with microseconds and an offset; `new Date` reads it to
 * the millisecond, as `Schema.DateFromString` does. Read in place: the json row is not copied.
 */
const jsonTimestamp = (value: unknown): Date | undefined => (typeof value === "string" ? new Date(value) : undefined)

/**
 * A `UserWithAccess` from a `findWithAccess` row: the user's columns under `user` and the json array of
 * `{ role, permissions }` under `roles`.
 */
export const userWithAccessFromRow = (row: Row): UserWithAccess | undefined => {
  const user = userFromRow(row.user as Row)
  if (user === undefined || !Array.isArray(row.roles)) return undefined
  const roles: Array<RoleWithPermissions> = []
  for (const entry of row.roles as ReadonlyArray<Row>) {
    const roleRow = entry.role as Row | null
    const role =
      typeof roleRow === "object" && roleRow !== null
        ? roleWithCreatedAt(roleRow, jsonTimestamp(roleRow.createdAt))
        : undefined
    if (role === undefined || !Array.isArray(entry.permissions)) return undefined
    const permissions: Array<Permission> = []
    for (const item of entry.permissions as ReadonlyArray<Row>) {
      const permission =
        typeof item === "object" && item !== null
          ? permissionWithCreatedAt(item, jsonTimestamp(item.createdAt))
          : undefined
      if (permission === undefined) return undefined
      permissions.push(permission)
    }
    roles.push(construct(RoleWithPermissions, { role, permissions }))
  }
  return construct(UserWithAccess, { user, roles })
}

/**
 * A schema that decodes a row with `fromRow`, falling back to `Slow` (the full schema decode of the same row)
 * when `fromRow` refuses it; usable wherever a row schema is expected (`SqlSchema`, `SqlResolver`).
 */
export const trustedRow = <A, S extends Schema.Decoder<A>>(
  Slow: S,
  is: (value: unknown) => value is A,
  fromRow: (row: Row) => A | undefined
): Schema.decodeTo<Schema.declare<A>, Schema.Unknown> => {
  const slow = Schema.decodeUnknownEffect(Slow)
  return Schema.Unknown.pipe(
    Schema.decodeTo(
      Schema.declare(is),
      SchemaTransformation.transformEffect({
        decode: (input: unknown) => {
          const fast = typeof input === "object" && input !== null ? fromRow(input as Row) : undefined
          return fast !== undefined
            ? Effect.succeed(fast)
            : Effect.mapError(slow(input) as Effect.Effect<A, Schema.SchemaError>, (error) => error.issue)
        },
        encode: (value: A) => Effect.succeed<unknown>(value)
      })
    )
  )
}

/** A type guard for instances of `Class`. */
export const isInstance =
  <A>(Class: abstract new (...args: ReadonlyArray<never>) => A) =>
  (value: unknown): value is A =>
    value instanceof Class

/** `User` rows, decoded trusted (see the top of this module). */
export const UserRow = trustedRow(User, isInstance(User), userFromRow)
/** `Role` rows, decoded trusted. */
export const RoleRow = trustedRow(Role, isInstance(Role), roleFromRow)
/** `Permission` rows, decoded trusted. */
export const PermissionRow = trustedRow(Permission, isInstance(Permission), permissionFromRow)
/** `AuditLog` rows, decoded trusted. */
export const AuditLogRow = trustedRow(AuditLog, isInstance(AuditLog), auditLogFromRow)

/** Decodes one row with `fromRow`, or with `Slow` (the full schema decode) when `fromRow` refuses it. */
export const decodeRowWith = <A, S extends Schema.Decoder<A>>(Slow: S, fromRow: (row: Row) => A | undefined) => {
  const slow = Schema.decodeUnknownEffect(Slow)
  return (row: unknown): Effect.Effect<A, Schema.SchemaError> => {
    const fast = typeof row === "object" && row !== null ? fromRow(row as Row) : undefined
    return fast !== undefined ? Effect.succeed(fast) : (slow(row) as Effect.Effect<A, Schema.SchemaError>)
  }
}

/** Decodes many rows with `fromRow`, or the whole array with `Slow` as soon as one row is refused. */
export const decodeRowsWith = <A, S extends Schema.Decoder<A>>(Slow: S, fromRow: (row: Row) => A | undefined) => {
  const slow = Schema.decodeUnknownEffect(Schema.Array(Slow))
  return (rows: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<A>, Schema.SchemaError> => {
    const decoded: Array<A> = new Array(rows.length)
    for (let index = 0; index < rows.length; index++) {
      const row = rows[index]
      const fast = typeof row === "object" && row !== null ? fromRow(row as Row) : undefined
      if (fast === undefined) return slow(rows) as Effect.Effect<ReadonlyArray<A>, Schema.SchemaError>
      decoded[index] = fast
    }
    return Effect.succeed(decoded)
  }
}
