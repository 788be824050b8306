import { assert, describe, it } from "@effect/vitest"
import { String as Str } from "effect"
import { Statement } from "effect/sql"
import { rememberNames, renameColumns } from "../../../src/Database/Client/ColumnNames.ts"

describe("ColumnNames", () => {
  it("renames rows exactly as the driver's default transform without json renaming", () => {
    const date = new Date(0)
    const rows = [
      { id: "1", created_at: date, metadata: { snake_key: [{ inner_key: 1 }] }, target_id: null },
      { id: "2", created_at: date, metadata: {}, target_id: "x", __proto__: 1 },
      JSON.parse('{"__proto__": {"polluted": true}, "user_id": 3}'),
      [{ nested_row: 1 }, null, 5],
      null,
      7
    ] as ReadonlyArray<object>
    const expected = Statement.defaultTransforms(Str.snakeToCamel, false).array(rows)
    const actual = renameColumns(Str.snakeToCamel)(rows)
    assert.deepStrictEqual(actual, expected)
    // jsonb documents keep their keys, and a `__proto__` column stays data, not a prototype.
    assert.deepStrictEqual((actual[0] as { metadata: unknown }).metadata, { snake_key: [{ inner_key: 1 }] })
    // A column whose new name is `__proto__` stays data, not a prototype.
    const [kept] = renameColumns((name) => name)([rows[2]!])
    assert.strictEqual(Object.getPrototypeOf(kept), Object.prototype)
    assert.isTrue(Object.hasOwn(kept!, "__proto__"))
    assert.deepStrictEqual(kept, Statement.defaultTransforms((name: string) => name, false).array([rows[2]!])[0])
  })

  it("converts each distinct name once", () => {
    const calls: Array<string> = []
    const rename = rememberNames((name) => {
      calls.push(name)
      return name.toUpperCase()
    })
    assert.deepStrictEqual(["a_b", "a_b", "c", "a_b"].map(rename), ["A_B", "A_B", "C", "A_B"])
    assert.deepStrictEqual(calls, ["a_b", "c"])
  })
})
