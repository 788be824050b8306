import { Effect, Schema } from "effect"
import { SecureRandom } from "effect/crypto"

// Any UUID version decodes, so ids minted elsewhere (imports, fixtures) are still accepted.
const Uuid = Schema.String.pipe(Schema.check(Schema.isUUID(undefined, { message: "must be a UUID" })))

/** A user's id: a UUIDv7 made by the application. */
export const UserId = Uuid.pipe(Schema.brand("UserId"))
export type UserId = typeof UserId.Type

/** A role's id: a UUIDv7 made by the application. */
export const RoleId = Uuid.pipe(Schema.brand("RoleId"))
export type RoleId = typeof RoleId.Type

/** A permission's id: a UUIDv7 made by the application. */
export const PermissionId = Uuid.pipe(Schema.brand("PermissionId"))
export type PermissionId = typeof PermissionId.Type

/** An audit record's id: a UUIDv7 made by the application. */
export const AuditLogId = Uuid.pipe(Schema.brand("AuditLogId"))
export type AuditLogId = typeof AuditLogId.Type

// Random bytes are drawn from the OS in blocks of this size and handed out in slices: one getRandomValues call
// per 256 ids instead of one per id (each call costs a few µs). A slice is handed out once, never again.
const randomBlockBytes = 4096

/**
 * A source of `size` fresh random bytes that refills a pooled block from `crypto.getRandomValues` when it is
 * used up; a request larger than the block gets bytes of its own. Allocates nothing until first used, so
 * importing the module has no effect.
 */
export const makePooledRandomBytes = (
  fill: (bytes: Uint8Array<ArrayBuffer>) => Uint8Array = (bytes) => globalThis.crypto.getRandomValues(bytes),
  blockBytes = randomBlockBytes
): ((size: number) => Uint8Array) => {
  let block: Uint8Array | undefined
  let used = blockBytes
  return (size) => {
    if (size > blockBytes) return fill(new Uint8Array(size))
    if (block === undefined || used + size > blockBytes) {
      block = fill(new Uint8Array(blockBytes))
      used = 0
    }
    const bytes = block.subarray(used, used + size)
    used += size
    return bytes
  }
}

// Effect's SecureRandom implements RFC 9562 UUIDv7 (48-bit ms timestamp from the Effect Clock, version and
// variant bits, random rest, monotonic counter within a millisecond); we only feed it random bytes, from
// crypto.getRandomValues through the pooled block.
const secureRandom = SecureRandom.make(makePooledRandomBytes())

/** A time-ordered UUIDv7 string; the timestamp comes from the Effect `Clock`, so tests can control it. */
export const makeUuidV7: Effect.Effect<string> = secureRandom.uuidV7()

// A UUIDv7 made here is a valid id by construction: branded without running the UUID check again (`make` would,
// at every append and create; test/Domain/Ids.test.ts checks that what is made passes the schema).
const brandedAs =
  <Id extends string>() =>
  (uuid: string): Id =>
    uuid as Id
export const newUserId: Effect.Effect<UserId> = Effect.map(makeUuidV7, brandedAs<UserId>())
export const newRoleId: Effect.Effect<RoleId> = Effect.map(makeUuidV7, brandedAs<RoleId>())
export const newPermissionId: Effect.Effect<PermissionId> = Effect.map(makeUuidV7, brandedAs<PermissionId>())
export const newAuditLogId: Effect.Effect<AuditLogId> = Effect.map(makeUuidV7, brandedAs<AuditLogId>())
