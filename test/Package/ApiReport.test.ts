import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { makeReport, REPORT_FILE, undocumentedExports } from "./ApiReport.ts"

describe("the public API", () => {
  it("is what public-api.txt records (UPDATE_API_REPORT=1 rewrites it after a deliberate change)", async () => {
    const report = await makeReport()
    if (process.env.UPDATE_API_REPORT === "1") writeFileSync(REPORT_FILE, report)
    expect(existsSync(REPORT_FILE), "test/Package/public-api.txt is missing").toBe(true)
    expect(report).toBe(readFileSync(REPORT_FILE, "utf8"))
  })

  it("exposes no implementation detail", async () => {
    const report = await makeReport()
    for (const internal of [
      "splitSqlStatements",
      "makeDatabaseClient",
      "pageFromRows",
      "makeUuidV7",
      "decodeInput",
      "makeCursorCodec",
      "applyMigrations",
      "describeSqlError"
    ]) {
      expect(report).not.toMatch(new RegExp(`^${internal}:`, "m"))
    }
  })

  it("documents every export where it is declared", () => {
    expect(undocumentedExports()).toEqual([])
  })
})
