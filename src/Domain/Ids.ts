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

// Effect's SecureRandom implements RFC 9562 UUIDv7 (48-bit ms timestamp from the Effect Clock, version and
// variant bits, random rest, monotonic counter within a millisecond); we only feed it crypto.getRandomValues,
// drawn a few KiB at a time (one call per id cost more than the rest of an audit row), each byte handed out
// once. Allocated on first use: importing this module draws nothing.
const randomPoolSize = 4_096
let randomPool = new Uint8Array(0)
let randomOffset = 0
const pooledRandomBytes = (size: number): Uint8Array => {
  if (randomOffset + size > randomPool.length) {
    randomPool = globalThis.crypto.getRandomValues(new Uint8Array(Math.max(randomPoolSize, size)))
    randomOffset = 0
  }
  const bytes = randomPool.slice(randomOffset, randomOffset + size)
  randomOffset += size
  return bytes
}
const secureRandom = SecureRandom.make(pooledRandomBytes)

/** A time-ordered UUIDv7 string; the timestamp comes from the Effect `Clock`, so tests can control it. */
export const makeUuidV7: Effect.Effect<string> = secureRandom.uuidV7()

export const newUserId: Effect.Effect<UserId> = Effect.map(makeUuidV7, (uuid) => UserId.make(uuid))
export const newRoleId: Effect.Effect<RoleId> = Effect.map(makeUuidV7, (uuid) => RoleId.make(uuid))
export const newPermissionId: Effect.Effect<PermissionId> = Effect.map(makeUuidV7, (uuid) => PermissionId.make(uuid))
export const newAuditLogId: Effect.Effect<AuditLogId> = Effect.map(makeUuidV7, (uuid) => AuditLogId.make(uuid))
