import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { AuditLogRepository } from "../../../src/Database/Repositories/AuditLogRepository.ts"
import { unique } from "../../Contract/Fixtures.ts"
import { RepositoriesTestLayer } from "../../support/RepositoriesTestLayer.ts"

const serverMessage = (error: { readonly reason: { readonly cause?: unknown } }): string =>
  String((error.reason.cause as { message?: string } | undefined)?.message)

layer(RepositoriesTestLayer(), { excludeTestServices: true, timeout: "60 seconds" })("audit_logs table", (it) => {
  it.effect("rejects UPDATE, DELETE and TRUNCATE made through raw SQL, and keeps the row as it was", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const audit = yield* AuditLogRepository
      const targetId = unique()
      const log = yield* audit.append({ action: "test.append_only", targetId, metadata: { n: 1 } })

      const update = yield* Effect.flip(sql`UPDATE audit_logs SET action = 'test.tampered' WHERE id = ${log.id}`)
      assert.include(serverMessage(update), "append-only")
      const remove = yield* Effect.flip(sql`DELETE FROM audit_logs WHERE id = ${log.id}`)
      assert.include(serverMessage(remove), "append-only")
      const truncate = yield* Effect.flip(sql`TRUNCATE audit_logs`)
      assert.include(serverMessage(truncate), "append-only")

      const found = yield* audit.findById(log.id)
      assert.strictEqual(found.action, "test.append_only")
      assert.deepStrictEqual(found.metadata, { n: 1 })
    })
  )

  it.effect("the database enforces the action format and the object shape of metadata too", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const id = "00000000-0000-7000-8000-0000000000aa"
      const badAction = yield* Effect.flip(sql`INSERT INTO audit_logs (id, action) VALUES (${id}, 'Bad Action')`)
      assert.strictEqual(badAction.reason._tag, "ConstraintError")
      const badMetadata = yield* Effect.flip(
        sql`INSERT INTO audit_logs (id, action, metadata) VALUES (${id}, 'test.ok', '[1]'::jsonb)`
      )
      assert.strictEqual(badMetadata.reason._tag, "ConstraintError")
    })
  )
})
