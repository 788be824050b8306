import { assert, describe, it } from "@effect/vitest"
import { copyJsonTree } from "../../../src/Database/Front/JsonInput.ts"

const limits = { maxDepth: 32, maxNodes: 16_384 }

const nested = (depth: number): unknown => {
  let value: unknown = {}
  for (let level = 1; level < depth; level++) value = { a: value }
  return value
}

describe("copyJsonTree", () => {
  it("copies arrays and plain objects, so later changes by the caller do not reach the copy", () => {
    const given = { list: [1, { deep: "x" }], flag: true, none: null }
    const copy = copyJsonTree(given, limits)
    assert.strictEqual(copy._tag, "Copied")
    if (copy._tag !== "Copied") return
    assert.deepStrictEqual(copy.value, given)
    ;(given.list[1] as { deep: string }).deep = "changed"
    assert.deepStrictEqual(copy.value, { list: [1, { deep: "x" }], flag: true, none: null })
  })

  it("reads each member once", () => {
    let reads = 0
    const given = Object.defineProperty({}, "note", { enumerable: true, get: () => `read ${++reads}` })
    const copy = copyJsonTree(given, limits)
    assert.deepStrictEqual(copy, { _tag: "Copied", value: { note: "read 1" } })
    assert.strictEqual(reads, 1)
  })

  it("keeps a __proto__ member as a member", () => {
    const copy = copyJsonTree(JSON.parse('{"__proto__": {"x": 1}}'), limits)
    if (copy._tag !== "Copied") return assert.fail("not copied")
    assert.deepStrictEqual(Object.keys(copy.value as object), ["__proto__"])
    assert.strictEqual(Object.getPrototypeOf(copy.value), Object.prototype)
  })

  it("keeps what is neither an array nor a plain object as it is, for the schema to judge", () => {
    const date = new Date(0)
    const copy = copyJsonTree({ date }, limits)
    if (copy._tag !== "Copied") return assert.fail("not copied")
    assert.strictEqual((copy.value as { date: Date }).date, date)
  })

  it("refuses nesting past the limit without recursion, naming the path; a cycle is such nesting", () => {
    assert.deepStrictEqual(copyJsonTree(nested(32), limits)._tag, "Copied")
    const tooDeep = copyJsonTree(nested(1_000_000), limits)
    assert.strictEqual(tooDeep._tag, "Refused")
    if (tooDeep._tag === "Refused") {
      assert.strictEqual(tooDeep.path.length, 32)
      assert.include(tooDeep.rule, "32 levels")
    }
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    assert.strictEqual(copyJsonTree(cycle, limits)._tag, "Refused")
  })

  it("refuses more members than the limit, and a member that throws when read", () => {
    const many = copyJsonTree({ many: new Array(20_000).fill(0) }, limits)
    assert.deepStrictEqual(many._tag === "Refused" && many.path, ["many"])
    const throwing = copyJsonTree(
      {
        inner: Object.defineProperty({}, "x", {
          enumerable: true,
          get: () => {
            throw new Error("getter")
          }
        })
      },
      limits
    )
    assert.deepStrictEqual(throwing, {
      _tag: "Refused",
      path: ["inner", "x"],
      rule: "must be readable: reading it threw"
    })
  })
})
