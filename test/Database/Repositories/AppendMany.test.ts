import { assert, layer } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { SqlClient } from "effect/sql"
import { AuditLogRepository } from "../../../src/Database/Repositories/AuditLogRepository.ts"
import { unique } from "../../Contract/Fixtures.ts"
import { RepositoriesTestLayer } from "../../support/RepositoriesTestLayer.ts"
import { recordStatements } from "../../support/StatementRecorder.ts"

// More rows than a statement with 5 bind parameters per row could hold (32,767 at most: 6,553 rows).
const aboveTheBindLimit = 7_000

const countFor = (targetId: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{
      readonly count: number
    }>`SELECT count(*)::int AS count FROM audit_logs WHERE target_id = ${targetId}`
    return rows[0]!.count
  })

const inserts = (statements: ReadonlyArray<string>) =>
  statements.filter((statement) => statement.trimStart().startsWith("INSERT"))

layer(RepositoriesTestLayer(), { excludeTestServices: true, timeout: "60 seconds" })("appendMany", (it) => {
  it.effect("writes a small batch with one INSERT and no transaction", () =>
    Effect.gen(function* () {
      const audit = yield* AuditLogRepository
      const targetId = unique()
      const [logs, statements] = yield* recordStatements(
        audit.appendMany(Array.from({ length: 100 }, (_, n) => ({ action: "test.small", targetId, metadata: { n } })))
      )
      assert.strictEqual(logs.length, 100)
      assert.deepStrictEqual(statements.length, 1)
      assert.strictEqual(yield* countFor(targetId), 100)
    })
  )

  it.effect("writes a batch above the bind-parameter limit of a row-per-parameters INSERT with one INSERT", () =>
    Effect.gen(function* () {
      const audit = yield* AuditLogRepository
      const targetId = unique()
      const entries = Array.from({ length: aboveTheBindLimit }, (_, n) => ({
        action: "test.large",
        targetId,
        metadata: { n }
      }))
      const [logs, statements] = yield* recordStatements(audit.appendMany(entries))
      assert.strictEqual(logs.length, aboveTheBindLimit)
      assert.deepStrictEqual(
        logs.map((log) => log.metadata.n),
        entries.map((entry) => entry.metadata.n)
      )
      assert.strictEqual(inserts(statements).length, 1)
      assert.strictEqual(yield* countFor(targetId), aboveTheBindLimit)
    })
  )

  it.effect("writes nothing when a later row fails in the database", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const audit = yield* AuditLogRepository
      // A failure only the database can raise, in the last row.
      yield* sql.unsafe(`CREATE FUNCTION test_reject_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.action = 'test.poison' THEN
            RAISE EXCEPTION 'poisoned entry' USING ERRCODE = 'check_violation';
          END IF;
          RETURN NEW;
        END;
        $$`)
      yield* sql.unsafe(
        "CREATE TRIGGER test_reject_poison BEFORE INSERT ON audit_logs FOR EACH ROW EXECUTE FUNCTION test_reject_poison()"
      )
      const targetId = unique()
      const entries = Array.from({ length: aboveTheBindLimit }, (_, n) => ({
        action: n === aboveTheBindLimit - 1 ? "test.poison" : "test.large",
        targetId
      }))
      const exit = yield* Effect.exit(audit.appendMany(entries))
      assert.isTrue(Exit.hasDies(exit), "a constraint the schema does not know is a defect")
      assert.strictEqual(yield* countFor(targetId), 0)
      yield* sql.unsafe("DROP TRIGGER test_reject_poison ON audit_logs")
    })
  )
})
