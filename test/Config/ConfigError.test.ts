import { assert, describe, it } from "vitest"
import { describeRefusedValue } from "../../src/Config/ConfigError.ts"

describe("describeRefusedValue: what a refused value looks like, never the value", () => {
  it.each([
    ["S3cr3t-Pa55", "a string of 11 characters"],
    ["x", "a string of 1 character"],
    ["", "an empty string"],
    ["   ", "a string of 3 spaces"],
    [" ten ", "a string of 5 characters with spaces around it"],
    ["pässwörd", "a string of 8 characters"],
    [-5, "a negative number"],
    [-0.5, "a decimal number"],
    [1.5, "a decimal number"],
    [0, "zero"],
    [845112, "a positive integer of 6 digits"],
    [7, "a positive integer of 1 digit"],
    [Number.POSITIVE_INFINITY, "a number that is not finite"],
    [true, "a boolean"],
    [null, "an empty value (null)"],
    [undefined, "nothing"],
    [["S3cr3t-Pa55"], "a list of 1 item"],
    [[], "a list of 0 items"],
    [{ password: "S3cr3t-Pa55", user: "app" }, "a mapping of 2 keys"]
  ] as const)("%j is described as %s", (value, description) => {
    assert.strictEqual(describeRefusedValue(value), description)
  })

  it("never contains the value of a string, a number or a list", () => {
    for (const value of ["S3cr3t-Pa55", "123456789", 987654321, ["S3cr3t-Pa55"], { key: "S3cr3t-Pa55" }]) {
      const description = describeRefusedValue(value)
      assert.notInclude(description, "S3cr3t")
      assert.notInclude(description, "987654321")
      assert.notInclude(description, "123456789")
    }
  })
})
