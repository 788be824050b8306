import { DateTime, Redacted } from "effect"
import fc from "fast-check"

// Generators of what a careless or hostile caller can pass to a repository: the wrong types, objects that
// throw when read, text PostgreSQL cannot store, sizes and nestings far past any limit, forged cursors,
// dates outside any calendar, mixed with valid values so that successes are exercised too.

/** Inputs whose getters answer differently on each read: a success cannot be compared with them afterwards. */
export const volatileInputs = new WeakSet<object>()

const throwing = (what: string) => () => {
  throw new Error(`hostile ${what}`)
}

/** A Proxy on `target` every trap of which throws (but for fast-check's own look-up of its clone method). */
const throwingProxy = (target: object): object =>
  new Proxy(target, {
    get: (_, key) => (key === fc.cloneMethod ? undefined : throwing("get trap")()),
    has: (_, key) => (key === fc.cloneMethod ? false : throwing("has trap")()),
    ownKeys: throwing("ownKeys trap"),
    getOwnPropertyDescriptor: throwing("getOwnPropertyDescriptor trap"),
    getPrototypeOf: throwing("getPrototypeOf trap")
  })

/** An object with `keys`, each an enumerable getter that throws. */
const throwingGetters = (keys: ReadonlyArray<string>): object =>
  Object.defineProperties(
    {},
    Object.fromEntries(keys.map((key) => [key, { enumerable: true, get: throwing(`getter ${key}`) }]))
  )

/** `{ [key]: first }` whose getter answers `later` from the second read on (validate one value, store another). */
export const flipping = (key: string, first: unknown, later: unknown): object => {
  let reads = 0
  const value = Object.defineProperty({}, key, { enumerable: true, get: () => (reads++ === 0 ? first : later) })
  volatileInputs.add(value)
  return value
}

/** `depth` objects (or arrays) nested in each other, built without recursion. */
export const nested = (depth: number, kind: "object" | "array" = "object"): unknown => {
  let value: unknown = kind === "object" ? {} : []
  for (let level = 1; level < depth; level++) value = kind === "object" ? { a: value } : [value]
  return value
}

const cyclic = (): object => {
  const value: Record<string, unknown> = { a: 1 }
  value.self = value
  return value
}

/** Values of every wrong type, and objects that throw when read. Fresh on each generation. */
export const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, undefined, 0, -0, 1, Number.NaN, Number.POSITIVE_INFINITY, -1e308, 2 ** 53 + 1, true, false),
  fc.constantFrom(10n, -(2n ** 70n)),
  fc.integer().map((n) => Symbol(`s${n}`)),
  fc.integer().map(() => () => "a function"),
  fc.integer().map(() => new Date(Number.NaN)),
  fc.integer().map(() => new Map([["a", 1]])),
  fc.integer().map(() => Object.create(null) as object),
  fc.integer().map(() => new String("boxed")),
  fc.constantFrom([], [1], ["a", "b"], [null]),
  fc.integer().map(() => throwingProxy({})),
  fc.integer().map(() => throwingProxy([])),
  fc.integer().map(cyclic),
  fc.constantFrom(1_000, 100_000).map((depth) => nested(depth)),
  fc.anything({ maxDepth: 2 })
)

const nul = fc.constantFrom("\u0000", "a\u0000b", "\u0000\u0000")
const loneSurrogate = fc.constantFrom("\uD800", "\uDBFF", "\uDC00", "\uDFFF", "a\uD83Db", "\uDE00x")

/** `base` with a NUL or a lone surrogate inserted somewhere. */
export const spiced = (base: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(base, fc.oneof(nul, loneSurrogate), fc.nat()).map(([text, bad, at]) => {
    const index = at % (text.length + 1)
    return text.slice(0, index) + bad + text.slice(index)
  })

/** Any UTF-16 code unit, so lone surrogates too (fast-check's "binary" unit makes only whole code points). */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code))

/** Text of any code units: control characters, NUL and lone surrogates included. */
export const codeUnits = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: codeUnit, maxLength })

/** Up to 1 MiB of one character. */
export const longText: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(65, 255, 256, 1000, 1001, 1024, 1025, 16_385, 65_536, 1 << 20),
    fc.constantFrom("a", "é", "😀", " ")
  )
  .map(([length, char]) => char.repeat(length))

/** Any text: printable, any code point (lone surrogates included), NUL, blank, very long. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary", maxLength: 40 }),
  codeUnits(20),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  spiced(fc.string({ maxLength: 20 })),
  longText,
  fc.constantFrom("", " ", "\t\n", "\u00A0", "\uFEFF", "\u212A")
)

/** `valid` most of the time, else any text or any wrong type. */
export const orHostile = <A>(valid: fc.Arbitrary<A>, hostileText: fc.Arbitrary<string> = anyText) =>
  fc.oneof({ arbitrary: valid, weight: 4 }, { arbitrary: hostileText, weight: 2 }, { arbitrary: wrongType, weight: 2 })

/** A fresh lower-case token starting with a letter. */
export const token: fc.Arbitrary<string> = fc.stringMatching(/^[a-z][a-z0-9]{5,12}$/)

/** `text` with one of its characters (at `at`) replaced by `replacement`. */
const replaceAt = (text: string, at: number, replacement: string) => {
  const index = at % text.length
  return text.slice(0, index) + replacement + text.slice(index + 1)
}

/** E-mail addresses: new ones, their variants (case, spaces, look-alike letters, bad characters) and `known`. */
export const emailLike = (known: ReadonlyArray<string>): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: token.map((name) => `${name}@example.io`), weight: 4 },
    { arbitrary: fc.constantFrom(...known), weight: 2 },
    token.map((name) => `  ${name.toUpperCase()}@EXAMPLE.IO\t`),
    fc.tuple(token, fc.nat()).map(([name, at]) => `${replaceAt(name, at, "\u212A")}@example.io`),
    spiced(token.map((name) => `${name}@example.io`)),
    fc.constantFrom("x@", "@example.io", "a@b", `${"a".repeat(65)}@example.io`, `a@${"b".repeat(250)}.io`)
  )

export const roleNameLike = (known: ReadonlyArray<string>): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: token, weight: 4 },
    { arbitrary: fc.constantFrom(...known), weight: 3 },
    fc.constantFrom("Admin", "-a", "a".repeat(65), "a b", "a.b"),
    spiced(token)
  )

export const permissionNameLike = (known: ReadonlyArray<string>): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.tuple(token, token, token).map((parts) => parts.join(".")), weight: 4 },
    { arbitrary: fc.constantFrom(...known), weight: 3 },
    fc.constantFrom("a.b", "a.b.c.d", "A.b.c", `${"a".repeat(190)}.b.c`, "a..c"),
    spiced(fc.tuple(token, token, token).map((parts) => parts.join(".")))
  )

export const descriptionLike: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 80 }), weight: 3 },
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }), weight: 2 },
  anyText
)

/** Ids: of known rows (also upper-cased), unknown UUIDs, malformed text, wrong types. */
export const idLike = (known: ReadonlyArray<string>): fc.Arbitrary<unknown> =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...known), weight: 4 },
    fc.constantFrom(...known).map((id) => id.toUpperCase()),
    fc.uuid(),
    fc.uuid().map((id) => ` ${id}`),
    anyText,
    wrongType
  )

/** Password hashes: Redacted text of any kind, and what is not a Redacted string. */
export const passwordHashLike: fc.Arbitrary<unknown> = fc.oneof(
  {
    arbitrary: fc.string({ minLength: 1, maxLength: 60 }).map((text) => Redacted.make(`$argon2id$${text}`)),
    weight: 4
  },
  anyText.map((text) => Redacted.make(text)),
  fc.constantFrom("plain text hash", 42).map((value) => Redacted.make(value)),
  fc.string(),
  fc.integer().map(() => ({ [Symbol.for("effect/Redacted")]: true, value: "forged" })),
  wrongType
)

/** JSON objects, mostly valid, with bad text in keys or values, non-JSON members, deep, large or hostile. */
export const metadataLike: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }), weight: 4 },
  fc.dictionary(codeUnits(6), codeUnits(10), { maxKeys: 3 }),
  fc
    .tuple(spiced(fc.string({ maxLength: 6 })), fc.jsonValue({ maxDepth: 1 }))
    .map(([key, value]) => ({ [key]: value })),
  spiced(fc.string({ maxLength: 6 })).map((text) => ({ nested: { list: [1, text] } })),
  fc.dictionary(
    fc.string({ maxLength: 4 }),
    fc.anything({ maxDepth: 1, withBigInt: true, withDate: true, withMap: true }),
    {
      maxKeys: 3
    }
  ),
  fc.constantFrom(31, 32, 33, 1_000, 10_000, 100_000).map((depth) => ({ deep: nested(depth) })),
  fc.constantFrom(31, 33, 10_000).map((depth) => ({ deep: nested(depth, "array") })),
  fc.constantFrom(16_000, 16_384, 20_000, 1 << 20).map((length) => ({ big: "x".repeat(length) })),
  fc.constantFrom(20_000, 1 << 20).map((count) => ({ many: Array.from({ length: count }, () => 0) })),
  fc.integer().map(() => JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1}') as unknown),
  fc.integer().map(() => ({ a: Number.NaN, b: undefined })),
  // A sparse array: JSON.stringify would write its hole as null.
  fc.integer().map(() => ({ sparse: Object.assign(new Array<number>(3), { 0: 1, 2: 3 }) })),
  fc.integer().map(() => ({ when: new Date(0) })),
  fc.integer().map(() => ({ inner: throwingProxy({}) })),
  fc.integer().map(() => ({ inner: throwingGetters(["x"]) })),
  fc.integer().map(() => flipping("note", "valid", "\u0000 changed after validation")),
  fc.integer().map(() => ({ outer: flipping("note", "valid", { deep: nested(100) }) })),
  fc.integer().map(cyclic),
  wrongType
)

/** Page sizes: valid, out of range, fractional, wrong types. */
export const limitLike: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 500 }), weight: 3 },
  fc.integer({ min: -1_000, max: 100_000 }),
  fc.double(),
  fc.constantFrom("10", 2 ** 53, -0),
  wrongType
)

const base64Url = (text: string): string => Buffer.from(text, "utf8").toString("base64url")

/** Keys PostgreSQL cannot take: timestamps (as microseconds since the epoch) outside any range, and ids. */
const forgedAuditKeys = fc.oneof(
  fc.constantFrom(
    "9999999999999999999",
    "-9999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "9224318016000000000",
    "8640000000000000001",
    "-210866803200000001",
    "-210866803200000000",
    "8640000000000000000",
    "0",
    "-0",
    "00001",
    "1e3",
    "",
    " 1"
  ),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map(String)
)

/** Cursors: real ones (`valid`), and forged ones of every kind. */
export const cursorLike = (valid: ReadonlyArray<string>): fc.Arbitrary<unknown> =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...valid), weight: 3 },
    fc
      .tuple(forgedAuditKeys, fc.oneof(fc.uuid(), fc.string()))
      .map(([micros, id]) => base64Url(JSON.stringify([micros, id]))),
    fc.tuple(forgedAuditKeys, fc.uuid()).map(([micros, id]) => base64Url(JSON.stringify([Number(micros), id]))),
    fc.oneof(fc.uuid(), fc.string(), token).map((key) => base64Url(JSON.stringify([key]))),
    fc.jsonValue({ maxDepth: 2 }).map((value) => base64Url(JSON.stringify(value) ?? "null")),
    fc.constantFrom(base64Url("[".repeat(1000)), base64Url("[1"), "!!!", "====", "a".repeat(3000), ""),
    anyText,
    wrongType
  )

/** PostgreSQL's first instant (4714-11-24 BC, UTC) in milliseconds since the epoch. */
const postgresMinMillis = -210_866_803_200_000

/** DateTimes anywhere in JavaScript's range, around PostgreSQL's limits, forged ones, and what is not a DateTime. */
export const dateTimeLike: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 4_102_444_800_000 }).map((ms) => DateTime.makeUnsafe(ms)), weight: 3 },
  fc
    .constantFrom(-8.64e15, 8.64e15, postgresMinMillis, postgresMinMillis - 1, -62_198_755_200_000)
    .map((ms) => DateTime.makeUnsafe(ms)),
  fc.integer({ min: -8.64e15, max: 8.64e15 }).map((ms) => DateTime.makeUnsafe(ms)),
  fc.integer().map(() => DateTime.makeZonedUnsafe(0, { timeZone: "Europe/Paris" })),
  fc
    .constantFrom(Number.NaN, 1e300, -1e300, 8.64e15 + 1)
    .map((ms) =>
      Object.assign(Object.create(Object.getPrototypeOf(DateTime.makeUnsafe(0)) as object), { epochMilliseconds: ms })
    ),
  fc.integer().map(() => new Date(0)),
  fc.constantFrom("2024-01-01T00:00:00Z", 0),
  wrongType
)

/** A record of `fields`, each key present or absent; or a wrong type instead of the record. */
export const requestLike = <Fields extends Record<string, fc.Arbitrary<unknown>>>(fields: Fields) =>
  fc.oneof(
    { arbitrary: fc.record(fields, { requiredKeys: [] }), weight: 5 },
    { arbitrary: wrongType, weight: 1 },
    fc.integer().map(() => throwingGetters(Object.keys(fields))),
    fc.constant(undefined)
  )

/** A record of `fields` where `required` are always present (each may still be hostile); or a wrong type. */
export const inputLike = <Fields extends Record<string, fc.Arbitrary<unknown>>>(
  fields: Fields,
  required: ReadonlyArray<keyof Fields & string>
) =>
  fc.oneof(
    { arbitrary: fc.record(fields, { requiredKeys: [...required] }), weight: 6 },
    { arbitrary: wrongType, weight: 1 },
    fc.integer().map(() => throwingGetters(Object.keys(fields))),
    fc.integer().map(() => throwingProxy({}))
  )
