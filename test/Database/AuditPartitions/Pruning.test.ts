/**
 * A page of the audit log with a time range reads only the partitions of that range: the statement is
 * recorded from the library's own call and run prepared, as the driver runs it, both as a custom plan
 * (pruned when planned) and as the generic plan PostgreSQL may switch to after five executions (pruned when
 * the executor starts: the pruned partitions are not in EXPLAIN ANALYZE's plan, "Subplans Removed" counts them).
 */
import { assert, layer } from "@effect/vitest"
import { DateTime, Effect, Option } from "effect"
import { SqlClient } from "effect/sql"
import { type RecordedStatement, recordStatements } from "../../../bench/Recorder.ts"
import { ensureAuditPartitions, listAuditPartitions } from "../../../src/Database/AuditPartitions/AuditPartitions.ts"
import { AuditLogRepository } from "../../../src/Database/Repositories/AuditLogRepository.ts"
import { RepositoriesTestLayer } from "../../support/RepositoriesTestLayer.ts"

interface PlanNode {
  readonly "Node Type": string
  readonly "Relation Name"?: string
  readonly "Subplans Removed"?: number
  readonly "Actual Rows"?: number
  readonly Plans?: ReadonlyArray<PlanNode>
}

const nodesOf = (node: PlanNode): ReadonlyArray<PlanNode> => [node, ...(node.Plans ?? []).flatMap(nodesOf)]

const literal = (value: unknown): string => {
  if (value === null || value === undefined) return "NULL"
  if (typeof value === "number" || typeof value === "bigint") return String(value)
  if (value instanceof Date) return `'${value.toISOString()}'`
  return `'${String(value).replaceAll("'", "''")}'`
}

let prepared = 0

/** The partitions `statement` read when executed prepared, with the plan `mode` makes. */
const partitionsRead = (statement: RecordedStatement, mode: "force_custom_plan" | "force_generic_plan") =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const name = `pk_pruning_${++prepared}`
    const plan = yield* sql.withTransaction(
      Effect.gen(function* () {
        yield* sql.unsafe(`SET LOCAL plan_cache_mode = ${mode}`)
        yield* sql.unsafe(`PREPARE ${name} AS ${statement.sql}`)
        const rows = yield* sql.unsafe(
          `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE ${name}(${statement.params.map(literal).join(", ")})`
        ).values
        yield* sql.unsafe(`DEALLOCATE ${name}`)
        const document = rows[0]![0]
        return (
          (typeof document === "string" ? JSON.parse(document) : document) as ReadonlyArray<{ Plan: PlanNode }>
        )[0]!.Plan
      })
    )
    const read = [...new Set(nodesOf(plan).flatMap((node) => node["Relation Name"] ?? []))].toSorted()
    const removed = nodesOf(plan).reduce((sum, node) => sum + (node["Subplans Removed"] ?? 0), 0)
    return { plan, read, removed, shown: `${mode}:\n${statement.sql}\n${JSON.stringify(plan, null, 1)}` }
  })

const recordOne = <A, E, R>(call: Effect.Effect<A, E, R>) =>
  Effect.map(recordStatements(call), ([, statements]) => {
    assert.strictEqual(statements.length, 1)
    return statements[0]!
  })

layer(RepositoriesTestLayer(), { timeout: "60 seconds" })("audit partition pruning", (it) => {
  it.effect("a page with a time range reads only the partitions of its range, custom or generic plan", () =>
    Effect.gen(function* () {
      yield* ensureAuditPartitions({ period: "day", ahead: 5, now: new Date() })
      const partitions = yield* listAuditPartitions()
      const ranged = partitions.filter((p) => p.from !== undefined && p.to !== undefined)
      assert.isAtLeast(ranged.length, 4)
      const [first, second] = [ranged[1]!, ranged[2]!]
      const audit = yield* AuditLogRepository
      const oneDay = yield* recordOne(
        audit.list({ limit: 50, from: DateTime.fromDateUnsafe(first.from!), to: DateTime.fromDateUnsafe(first.to!) })
      )
      const twoDays = yield* recordOne(
        audit.list({
          limit: 50,
          action: "iam.user.created",
          from: DateTime.fromDateUnsafe(first.from!),
          to: DateTime.fromDateUnsafe(second.to!)
        })
      )
      const everything = yield* recordOne(audit.list({ limit: 50 }))
      // A page after a cursor skips the partitions newer than the cursor (here, in the second partition).
      yield* SqlClient.SqlClient.pipe(
        Effect.flatMap((sql) =>
          sql.withTransaction(
            Effect.andThen(
              sql`SET LOCAL session_replication_role = replica`,
              sql`INSERT INTO audit_logs (id, action, "timestamp")
                  VALUES (gen_random_uuid(), 'iam.user.created', ${second.from!}), (gen_random_uuid(), 'iam.user.created', ${first.from!})`
            )
          )
        )
      )
      const firstPage = yield* audit.list({ limit: 1, from: DateTime.fromDateUnsafe(first.from!) })
      const afterCursor = yield* recordOne(
        audit.list({ limit: 50, cursor: Option.getOrUndefined(firstPage.nextCursor) })
      )
      for (const mode of ["force_custom_plan", "force_generic_plan"] as const) {
        const one = yield* partitionsRead(oneDay, mode)
        assert.deepStrictEqual(one.read, [first.name], one.shown)
        const two = yield* partitionsRead(twoDays, mode)
        assert.deepStrictEqual(two.read, [first.name, second.name].toSorted(), two.shown)
        // The page's range, widened to its partitions' bounds, is written as constants too: a generic plan is
        // made for that partition only, as a custom one (nothing left to remove when it runs).
        assert.strictEqual(one.removed, 0, one.shown)
        const older = yield* partitionsRead(afterCursor, mode)
        assert.deepStrictEqual(
          older.read,
          partitions
            // The default partition too: everything up to the cursor lies in range partitions.
            .filter((p) => !p.isDefault && p.to!.getTime() <= second.to!.getTime())
            .map((p) => p.name)
            .toSorted(),
          older.shown
        )
        // Without a range every partition is read: what the assertions above tell apart.
        const all = yield* partitionsRead(everything, mode)
        assert.deepStrictEqual(all.read, partitions.map((p) => p.name).toSorted(), all.shown)
        // ...one after the other, newest first, not merged: no Merge Append reads a partition itself (the only
        // one merges the two branches: the range partitions', and the default partition's).
        assert.isFalse(
          nodesOf(all.plan).some(
            (node) =>
              node["Node Type"] === "Merge Append" &&
              (node.Plans ?? []).some((child) => child["Relation Name"] !== undefined)
          ),
          all.shown
        )
      }
    })
  )
})

const RowsInPartition = 20_000
const RowsBelowCursor = 500

layer(RepositoriesTestLayer(), { timeout: "60 seconds" })("audit deep page", (it) => {
  // The deep page of the benchmark: the cursor near the oldest end of a partition with many rows, more
  // partitions (here an empty one and the legacy one) below it. Its plan must read the page from the partitions' ordered
  // indexes, not sort every row before the cursor: with the cursor's time written as a constant in both
  // conditions, PostgreSQL estimated those rows' fraction squared (12 rows for 500) and sorted them; with it
  // written stable (timestamptz + interval), the custom plan also pruned only when the executor started.
  it.effect("after a cursor near the oldest end, the page is read from ordered index scans, pruned when planned", () =>
    Effect.gen(function* () {
      yield* ensureAuditPartitions({ period: "day", ahead: 5, now: new Date() })
      const partitions = yield* listAuditPartitions()
      const ranged = partitions.filter((p) => p.from !== undefined && p.to !== undefined)
      const [legacy, first] = [partitions[0]!, ranged[1]!]
      assert.isUndefined(legacy.from)
      const sql = yield* SqlClient.SqlClient
      const stepMs = (first.to!.getTime() - first.from!.getTime()) / RowsInPartition
      yield* sql.withTransaction(
        Effect.andThen(
          sql`SET LOCAL session_replication_role = replica`,
          sql`INSERT INTO audit_logs (id, action, target_id, "timestamp")
              SELECT gen_random_uuid(), 'iam.user.created', 'doc-' || n,
                ${first.from!}::timestamptz + n * ${stepMs}::float8 * interval '1 millisecond'
              FROM generate_series(0, ${RowsInPartition - 1}) AS n`
        )
      )
      yield* sql`ANALYZE audit_logs`
      const audit = yield* AuditLogRepository
      // The row just before the RowsBelowCursor oldest ones of the partition: its key is the cursor.
      const before = yield* audit.list({
        limit: 1,
        to: DateTime.fromDateUnsafe(new Date(first.from!.getTime() + (RowsBelowCursor + 0.5) * stepMs))
      })
      const deepPage = yield* recordOne(audit.list({ limit: 50, cursor: Option.getOrUndefined(before.nextCursor) }))
      const page = yield* audit.list({ limit: 50, cursor: Option.getOrUndefined(before.nextCursor) })
      assert.strictEqual(page.items.length, 50)
      for (const mode of ["force_custom_plan", "force_generic_plan"] as const) {
        const deep = yield* partitionsRead(deepPage, mode)
        assert.deepStrictEqual(
          deep.read,
          partitions
            .filter((p) => !p.isDefault && p.to!.getTime() <= first.to!.getTime())
            .map((p) => p.name)
            .toSorted(),
          deep.shown
        )
        const nodes = nodesOf(deep.plan)
        // No sort of rows read (the branch of the default partition, empty by its constant bounds, may keep a
        // sort of nothing).
        assert.isFalse(
          nodes.some(
            (node) =>
              node["Node Type"] === "Sort" && nodesOf(node).some((below) => below["Relation Name"] !== undefined)
          ),
          deep.shown
        )
        // The scans stop at the page (limit + 1 rows; a merge reads one row ahead in each other partition),
        // whatever lies below the cursor (RowsBelowCursor rows, all read by a sort).
        const scanned = nodes
          .filter((node) => node["Relation Name"] !== undefined)
          .reduce((sum, node) => sum + (node["Actual Rows"] ?? 0), 0)
        assert.isAtMost(scanned, 51 + deep.read.length - 1, deep.shown)
        // A custom plan is made for the partitions at and below the cursor only (none removed when it runs).
        if (mode === "force_custom_plan") assert.strictEqual(deep.removed, 0, deep.shown)
      }
    })
  )
})
