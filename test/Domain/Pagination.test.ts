import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Option, Schema } from "effect"
import {
  AuditLogId,
  Cursor,
  DefaultPageLimit,
  makeCursorCodec,
  Page,
  PageRequest,
  pageFromRows,
  UserId
} from "../../src/Domain/index.ts"

const idCodec = makeCursorCodec(Schema.Tuple([UserId]))
const timeCodec = makeCursorCodec(Schema.Tuple([Schema.DateTimeUtc, AuditLogId]))

const userId = UserId.make("0190a0b0-0000-7000-8000-000000000001")
const logId = AuditLogId.make("0190a0b0-0000-7000-8000-000000000002")

describe("Cursor", () => {
  it.effect("round-trips an id keyset", () =>
    Effect.gen(function* () {
      const cursor = idCodec.encode([userId])
      assert.match(cursor, /^[A-Za-z0-9_-]+$/)
      assert.deepStrictEqual(yield* idCodec.decode(cursor), [userId])
    })
  )

  it.effect("round-trips a [timestamp, id] keyset through its JSON form", () =>
    Effect.gen(function* () {
      const at = DateTime.makeUnsafe("2026-03-04T05:06:07.089Z")
      const cursor = timeCodec.encode([at, logId])
      assert.strictEqual(Buffer.from(cursor, "base64url").toString(), `["2026-03-04T05:06:07.089Z","${logId}"]`)
      const [decodedAt, decodedId] = yield* timeCodec.decode(cursor)
      assert.isTrue(DateTime.Equivalence(decodedAt, at))
      assert.strictEqual(decodedId, logId)
    })
  )

  it.effect("rejects tampered or foreign cursors as InvalidInput on field cursor", () =>
    Effect.gen(function* () {
      const valid = idCodec.encode([userId])
      const tampered = [
        "",
        "!!not base64!!",
        `${valid.slice(0, -3)}x`,
        Buffer.from("not json").toString("base64url"),
        Buffer.from('{"id":1}').toString("base64url"),
        Buffer.from('["not-a-uuid"]').toString("base64url"),
        Buffer.from(`["${userId}","extra"]`).toString("base64url"),
        timeCodec.encode([DateTime.makeUnsafe(0), logId])
      ]
      for (const cursor of tampered) {
        const error = yield* Effect.flip(idCodec.decode(cursor))
        assert.strictEqual(error._tag, "InvalidInput", cursor)
        assert.strictEqual(error.field, "cursor")
        assert.strictEqual(error.rule, "must be a cursor returned by a previous page")
      }
    })
  )
})

describe("PageRequest", () => {
  const decode = Schema.decodeUnknownSync(PageRequest)

  it("defaults the limit to 50 and keeps it within 1..500", () => {
    assert.strictEqual(decode({}).limit, DefaultPageLimit)
    assert.strictEqual(new PageRequest({}).limit, 50)
    assert.strictEqual(decode({ limit: 1 }).limit, 1)
    assert.strictEqual(decode({ limit: 500 }).limit, 500)
    for (const limit of [0, 501, 2.5, -1, "10"])
      assert.throws(() => decode({ limit }), undefined, undefined, String(limit))
  })

  it("carries an optional cursor", () => {
    const cursor = idCodec.encode([userId])
    assert.strictEqual(decode({ cursor }).cursor, cursor)
    assert.notProperty(decode({}), "cursor")
    assert.throws(() => decode({ cursor: "" }))
  })

  it("takes an undefined limit or cursor as absent", () => {
    const request = decode({ limit: undefined, cursor: undefined })
    assert.strictEqual(request.limit, DefaultPageLimit)
    assert.notProperty(request, "cursor")
  })
})

describe("Page", () => {
  const rows = ["a", "b", "c"]

  it.effect("points the cursor after the last item when there are more rows", () =>
    Effect.gen(function* () {
      const codec = makeCursorCodec(Schema.Tuple([Schema.String]))
      const page = pageFromRows(rows, 2, (row) => [row] as const, codec)
      assert.deepStrictEqual(page.items, ["a", "b"])
      assert.isTrue(Option.isSome(page.nextCursor))
      if (Option.isSome(page.nextCursor)) assert.deepStrictEqual(yield* codec.decode(page.nextCursor.value), ["b"])

      const last = pageFromRows(rows, 3, (row) => [row] as const, codec)
      assert.deepStrictEqual(last.items, rows)
      assert.isTrue(Option.isNone(last.nextCursor))
    })
  )

  it("encodes to JSON with a null cursor on the last page", () => {
    const schema = Page(Schema.String)
    assert.deepStrictEqual(Schema.encodeSync(schema)({ items: ["a"], nextCursor: Option.none() }), {
      items: ["a"],
      nextCursor: null
    })
    const cursor = Cursor.make("WyJhIl0")
    assert.deepStrictEqual(Schema.encodeSync(schema)({ items: [], nextCursor: Option.some(cursor) }), {
      items: [],
      nextCursor: cursor
    })
  })
})

describe("Cursor short way (string keys)", () => {
  // The schema the codec is made of, used here on its own as the reference.
  const Key = Schema.Tuple([Schema.String.pipe(Schema.check(Schema.isPattern(/^-?\d{1,19}$/))), AuditLogId])
  const reference = Schema.StringFromBase64Url.pipe(Schema.decodeTo(Schema.fromJsonString(Schema.toCodecJson(Key))))
  const codec = makeCursorCodec(Key)
  const keys: ReadonlyArray<readonly [string, AuditLogId]> = [
    ["1732579200123456", logId],
    ["-62135596800000000", logId],
    ["0", AuditLogId.make("0190A0B0-0000-7000-8000-00000000000F")]
  ]

  it("encodes to the very text the schema gives", () => {
    for (const key of keys) assert.strictEqual(codec.encode(key), Schema.encodeSync(reference)(key))
    const names = makeCursorCodec(Schema.Tuple([Schema.String]))
    for (const name of ["ünïcødé 😀", 'quote " and \\ and \u0001', ""])
      assert.strictEqual(
        names.encode([name]),
        Schema.encodeSync(
          Schema.StringFromBase64Url.pipe(Schema.decodeTo(Schema.fromJsonString(Schema.Tuple([Schema.String]))))
        )([name])
      )
  })

  it.effect("decodes every text as the schema does: the same key, or InvalidInput where the schema fails", () =>
    Effect.gen(function* () {
      const canonical = codec.encode(keys[0]!)
      const texts = [
        ...keys.map((key) => codec.encode(key)),
        `${canonical}=`,
        `${canonical}==`,
        ` ${canonical}`,
        canonical.replaceAll("-", "+").replaceAll("_", "/"),
        canonical.slice(0, -1),
        `${canonical}A`,
        Buffer.from('["1", "not-a-uuid"]').toString("base64url"),
        Buffer.from('["x1", "0190a0b0-0000-7000-8000-000000000002"]').toString("base64url"),
        Buffer.from('[ "1","0190a0b0-0000-7000-8000-000000000002"]').toString("base64url"),
        Buffer.from('["1","0190a0b0-0000-7000-8000-000000000002",3]').toString("base64url"),
        Buffer.from([0x5b, 0x22, 0xff, 0x22, 0x5d]).toString("base64url"),
        "",
        "%%%"
      ]
      for (const text of texts) {
        const expected = yield* Effect.exit(Schema.decodeUnknownEffect(reference)(text))
        const actual = yield* Effect.exit(codec.decode(text))
        assert.strictEqual(actual._tag, expected._tag, text)
        if (actual._tag === "Success" && expected._tag === "Success")
          assert.deepStrictEqual(actual.value, expected.value)
      }
    })
  )
})
