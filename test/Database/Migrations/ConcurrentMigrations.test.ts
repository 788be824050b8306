import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { jsonLines, runCli } from "../../Main/runCli.ts"
import { withAdmin } from "../../support/adminClient.ts"
import { scopedDatabase } from "../../support/TestDatabase.ts"
import { MIGRATIONS_TABLE } from "../../support/urls.ts"

const PROCESSES = 4

describe("concurrent migrate processes", () => {
  it.live(
    `${PROCESSES} processes migrating one empty database at once apply each migration exactly once`,
    () =>
      Effect.gen(function* () {
        const database = yield* scopedDatabase({ from: "empty" })
        const results = yield* Effect.promise(() =>
          Promise.all(
            Array.from({ length: PROCESSES }, () =>
              runCli(["migrate"], {
                env: { DATABASE_URL: database.url, DATABASE_MIGRATIONS_TABLE: MIGRATIONS_TABLE, LOG_FORMAT: "json" },
                timeoutMs: 45_000
              })
            )
          )
        )
        for (const result of results) {
          assert.isFalse(result.timedOut, `a migrate process was killed after 45 s: ${result.stderr}`)
          assert.strictEqual(result.code, 0, `migrate exited ${result.code}: ${result.stderr}`)
        }

        const applied = results.flatMap((result) =>
          jsonLines(result.stdout).filter((line) => line.message === "migration applied")
        )
        assert.strictEqual(applied.length, 6, results.map((result) => result.stdout).join("\n---\n"))
        const appliedIds = applied
          .map((line) => Number((line.annotations as { migration_id?: string }).migration_id))
          .toSorted()
        assert.deepStrictEqual(appliedIds, [1, 2, 3, 4, 5, 6])
        // One process did all the work; the others found nothing to do.
        const workers = results.filter((result) => result.stdout.includes('"migration applied"'))
        assert.strictEqual(workers.length, 1)
        const idle = results.filter((result) =>
          jsonLines(result.stdout).some((line) => line.message === "nothing to migrate")
        )
        assert.strictEqual(idle.length, PROCESSES - 1)

        const rows = yield* withAdmin(
          database.url,
          (sql) =>
            sql<{
              readonly id: number
              readonly hasSha: boolean
            }>`SELECT migration_id AS id, sha256 IS NOT NULL AS "hasSha" FROM ${sql(MIGRATIONS_TABLE)} ORDER BY migration_id`
              .withoutTransform
        )
        assert.deepStrictEqual(
          rows.map((row) => ({ ...row })),
          [
            { id: 1, hasSha: true },
            { id: 2, hasSha: true },
            { id: 3, hasSha: true },
            { id: 4, hasSha: true },
            { id: 5, hasSha: true },
            { id: 6, hasSha: true }
          ]
        )
      }).pipe(Effect.scoped),
    { timeout: 90_000 }
  )
})
