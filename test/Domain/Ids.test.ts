import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { TestClock } from "effect/testing"
import {
  AuditLogId,
  makePooledRandomBytes,
  makeUuidV7,
  newAuditLogId,
  newPermissionId,
  newRoleId,
  newUserId,
  UserId
} from "../../src/Domain/index.ts"

const uuidV7Pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const timestampOf = (uuid: string): number => Number.parseInt(uuid.replaceAll("-", "").slice(0, 12), 16)

// The generator is monotonic per process, so these tests move the clock forward only (0, 2020, 2021, now).
describe("UUIDv7", () => {
  it.effect("has the v7 layout: version nibble 7 and RFC 9562 variant bits", () =>
    Effect.gen(function* () {
      const uuid = yield* makeUuidV7
      assert.match(uuid, uuidV7Pattern)
    })
  )

  it.effect("takes its 48-bit millisecond timestamp from the Effect Clock", () =>
    Effect.gen(function* () {
      const at = Date.UTC(2020, 0, 2, 3, 4, 5, 678)
      yield* TestClock.setTime(at)
      assert.strictEqual(timestampOf(yield* makeUuidV7), at)
    })
  )

  it.effect("orders ids by time, and within one millisecond by creation", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.UTC(2021, 0, 1))
      const sameMillisecond = yield* Effect.replicateEffect(makeUuidV7, 200)
      yield* TestClock.adjust("1 millis")
      const later = yield* makeUuidV7
      const all = [...sameMillisecond, later]
      assert.deepStrictEqual([...all].sort(), all)
      assert.strictEqual(new Set(all).size, all.length)
    })
  )

  it.live("uses the real clock outside tests", () =>
    Effect.gen(function* () {
      const before = Date.now()
      const uuid = yield* makeUuidV7
      const stamp = timestampOf(uuid)
      assert.isTrue(stamp >= before && stamp <= Date.now() + 1)
    })
  )

  it.effect("typed generators produce valid branded ids", () =>
    Effect.gen(function* () {
      for (const id of [yield* newUserId, yield* newRoleId, yield* newPermissionId, yield* newAuditLogId]) {
        assert.match(id, uuidV7Pattern)
      }
    })
  )
})

describe("ids", () => {
  it("accept any UUID and reject other strings", () => {
    assert.isTrue(Schema.is(UserId)("6ba7b810-9dad-11d1-80b4-00c04fd430c8"))
    assert.isTrue(Schema.is(AuditLogId)("0190a0b0-0000-7000-8000-000000000000"))
    assert.isFalse(Schema.is(UserId)("not-a-uuid"))
    assert.isFalse(Schema.is(UserId)(""))
  })
})

describe("pooled random bytes", () => {
  it("hands out each drawn byte once, refilling the block only when it is used up", () => {
    let fills = 0
    let counter = 0
    // A deterministic "random" source: every byte it ever produces is distinct (mod 256 per block of 16).
    const fill = (bytes: Uint8Array) => {
      fills++
      for (let index = 0; index < bytes.length; index++) bytes[index] = counter++ % 256
      return bytes
    }
    const random = makePooledRandomBytes(fill, 64)
    assert.strictEqual(fills, 0, "nothing is drawn before the first request")
    const slices = Array.from({ length: 8 }, () => random(16))
    assert.strictEqual(fills, 2, "64-byte blocks give four 16-byte slices each")
    assert.deepStrictEqual(
      slices.map((slice) => slice[0]),
      [0, 16, 32, 48, 64, 80, 96, 112]
    )
    // A slice handed out is never handed out again nor overwritten by a refill.
    slices[0]![0] = 255
    random(16)
    assert.strictEqual(slices[4]![0], 64)
    // A request larger than the block gets bytes of its own; one that does not fit the rest starts a new block.
    assert.strictEqual(random(100).length, 100)
    assert.strictEqual(random(40).length, 40)
    assert.strictEqual(random(40).length, 40)
  })

  it("gives UUIDv7s that stay unique across many refills", () =>
    Effect.runSync(
      Effect.gen(function* () {
        const ids = yield* Effect.replicateEffect(makeUuidV7, 5_000)
        assert.strictEqual(new Set(ids).size, ids.length)
        for (const id of ids) assert.match(id, uuidV7Pattern)
      })
    ))
})
