import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  AuditLog,
  AuditMetadata,
  decodeInput,
  InvalidInput,
  PasswordHash,
  RoleDescription,
  storableTextProblem
} from "../../src/Domain/index.ts"

describe("text PostgreSQL stores as given", () => {
  it("is any valid Unicode without NUL", () => {
    for (const text of ["", "plain", "é", "rocket 🚀", "\uFFFF", "tab\tnew\nline"])
      assert.isUndefined(storableTextProblem(text), text)
    assert.strictEqual(storableTextProblem("a\u0000b"), "must not contain NUL characters")
    for (const text of ["\uD800", "a\uDBFFb", "\uDC00", "\uDE00\uD83D"])
      assert.include(storableTextProblem(text), "unpaired surrogates")
  })

  it.effect("is the rule of descriptions and password hashes", () =>
    Effect.gen(function* () {
      const description = yield* Effect.flip(decodeInput(RoleDescription, "description")("a\u0000"))
      assert.deepStrictEqual(description, InvalidInput.fromRule("description", "must not contain NUL characters"))
      const hash = yield* Effect.flip(decodeInput(PasswordHash, "passwordHash")("$hash\uD800"))
      assert.strictEqual(hash.field, "passwordHash")
      assert.notInclude(hash.message, "$hash")
    })
  )
})

describe("AuditMetadata", () => {
  const decode = decodeInput(AuditMetadata, "metadata")

  it.effect("names the key or the string that cannot be stored", () =>
    Effect.gen(function* () {
      const value = yield* Effect.flip(decode({ outer: { list: ["ok", "bad\u0000"] } }))
      assert.strictEqual(value.field, "outer.list[1]")
      const key = yield* Effect.flip(decode({ outer: { "k\uD800": 1 } }))
      assert.strictEqual(key.field, 'outer["k\\ud800"]')
      assert.include(key.rule, "keys must not contain unpaired surrogates")
    })
  )

  it.effect("refuses nesting past 32 levels before measuring it, whatever the depth", () =>
    Effect.gen(function* () {
      let deep: Record<string, unknown> = {}
      for (let level = 1; level < 100_000; level++) deep = { a: deep }
      const error = yield* Effect.flip(decode(deep))
      assert.strictEqual(error.rule, "must be nested at most 32 levels deep")
      const viaModel = yield* Effect.flip(decodeInput(AuditLog.jsonCreate)({ action: "a.b", metadata: deep }))
      assert.strictEqual(viaModel.rule, "must be nested at most 32 levels deep")
    })
  )
})
