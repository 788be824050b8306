/**
 * At the benchmark's volume (bench/Seed.ts: 10,000 users, 100,000 audit rows), after ANALYZE, every hot
 * statement the library sends is planned with an index (the batched reads both for one key and for 32): the
 * statement is recorded from the library's own call, then explained as the driver runs it (a prepared statement), both as a custom plan for these
 * parameters and as the generic plan PostgreSQL may switch to after five executions.
 */
import { assert, layer } from "@effect/vitest"
import { DateTime, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { type RecordedStatement, recordStatements } from "../../bench/Recorder.ts"
import { emailOf, permissionNameOf, seedStatements, userIdOf } from "../../bench/Seed.ts"
import { FullVolume } from "../../bench/Settings.ts"
import { AuditLogRepository } from "../../src/Database/Repositories/AuditLogRepository.ts"
import { UserRepository } from "../../src/Database/Repositories/UserRepository.ts"
import { UserId } from "../../src/Domain/index.ts"
import { RepositoriesTestLayer } from "../support/RepositoriesTestLayer.ts"

/** Tables that grow with the users and their activity: a sequential scan of one is a missing index. */
const GrowingTables = new Set(["users", "audit_logs", "user_roles", "role_permissions"])
const IndexScans = new Set(["Index Scan", "Index Only Scan", "Bitmap Heap Scan"])

interface PlanNode {
  readonly "Node Type": string
  readonly "Relation Name"?: string
  readonly "Index Name"?: string
  readonly Plans?: ReadonlyArray<PlanNode>
}

const nodesOf = (node: PlanNode): ReadonlyArray<PlanNode> => [node, ...(node.Plans ?? []).flatMap(nodesOf)]

/**
 * The table a plan node reads: a time partition of audit_logs counts as audit_logs; the default partition
 * (empty unless appends found no partition of their time) is read whole and is left as itself.
 */
const tableOf = (node: PlanNode): string => {
  const name = node["Relation Name"] ?? ""
  return name.startsWith("audit_logs_") && name !== "audit_logs_default" ? "audit_logs" : name
}

// EXECUTE takes its arguments as SQL: untyped literals, which take the prepared parameters' types.
const literal = (value: unknown): string => {
  if (value === null || value === undefined) return "NULL"
  if (typeof value === "number" || typeof value === "bigint") return String(value)
  if (value instanceof Date) return `'${value.toISOString()}'`
  if (Array.isArray(value)) return literal(`{${value.map((item) => `"${String(item)}"`).join(",")}}`)
  return `'${String(value).replaceAll("'", "''")}'`
}

let prepared = 0

/** The plan of `statement` prepared, as `plan_cache_mode` makes it: custom (these parameters) or generic. */
const explain = (statement: RecordedStatement, mode: "force_custom_plan" | "force_generic_plan") =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // PREPARE is not undone by a rollback: a name of its own each time.
    const name = `pk_plan_${++prepared}`
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        yield* sql.unsafe(`SET LOCAL plan_cache_mode = ${mode}`)
        yield* sql.unsafe(`PREPARE ${name} AS ${statement.sql}`)
        const rows = yield* sql.unsafe(
          `EXPLAIN (FORMAT JSON) EXECUTE ${name}(${statement.params.map(literal).join(", ")})`
        ).values
        yield* sql.unsafe(`DEALLOCATE ${name}`)
        const document = rows[0]![0]
        const plans = (typeof document === "string" ? JSON.parse(document) : document) as ReadonlyArray<{
          readonly Plan: PlanNode
        }>
        return plans[0]!.Plan
      })
    )
  })

/** Records the one statement `call` sends and asserts that both its plans read `table` with an index. */
/**
 * Every distinct statement `call` sends is planned with an index on `table`; `statementCount` is how many it
 * must send (1 for one call; for 32 concurrent calls of a batched lookup 2: the first call starts alone and
 * runs the scalar statement, the other 31 share the batched one; 32 for a lookup the batching table leaves
 * unbatched).
 */
const assertIndexed = <A, E, R>(table: string, call: Effect.Effect<A, E, R>, statementCount = 1) =>
  Effect.gen(function* () {
    const [, statements] = yield* recordStatements(call)
    assert.strictEqual(statements.length, statementCount, statements.map(({ sql }) => sql).join("\n---\n"))
    const distinct = [...new Map(statements.map((statement) => [statement.sql, statement])).values()]
    for (const statement of distinct)
      for (const mode of ["force_custom_plan", "force_generic_plan"] as const) {
        const plan = yield* explain(statement, mode)
        const nodes = nodesOf(plan)
        const shown = `${mode} plan of:\n${statement.sql}\n${JSON.stringify(plan, null, 1)}`
        const seqScans = nodes.filter((node) => node["Node Type"] === "Seq Scan" && GrowingTables.has(tableOf(node)))
        assert.deepStrictEqual(
          seqScans.map((node) => node["Relation Name"]),
          [],
          shown
        )
        assert.isTrue(
          nodes.some((node) => IndexScans.has(node["Node Type"]) && tableOf(node) === table),
          shown
        )
      }
  })

const Seeded = Layer.effectDiscard(
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    for (const statement of seedStatements(FullVolume)) yield* sql.unsafe(statement)
  })
)

// A user in the middle of the seeded range, and a permission of one of its roles.
const user = 5_000
const userId = UserId.make(userIdOf(user))

layer(Seeded.pipe(Layer.provideMerge(RepositoriesTestLayer())), { excludeTestServices: true, timeout: "120 seconds" })(
  "hot statements at volume",
  (it) => {
    it.effect("findById reads users by its primary key", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        yield* assertIndexed("users", users.findById(userId))
      })
    )

    it.effect("findByEmail reads users by the unique e-mail index", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        yield* assertIndexed("users", users.findByEmail(emailOf(user)))
      })
    )

    it.effect("hasPermission walks user_roles and role_permissions by their keys", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const permission = permissionNameOf((user % FullVolume.roles) * FullVolume.permissionsPerRole)
        assert.isTrue(yield* users.hasPermission(userId, permission))
        yield* assertIndexed("user_roles", users.hasPermission(userId, permission))
        yield* assertIndexed("role_permissions", users.hasPermission(userId, permission))
      })
    )

    it.effect("findWithAccess reads the user and its links by their keys", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        yield* assertIndexed("users", users.findWithAccess(userId))
        yield* assertIndexed("user_roles", users.findWithAccess(userId))
        yield* assertIndexed("role_permissions", users.findWithAccess(userId))
      })
    )

    // At 32 callers each batched hot read is one statement over the keys of the calls that started while the
    // first was in flight: still one index lookup per key. findWithAccess is not batched (the batching table).
    it.effect("32 concurrent calls of each hot read: batched over the keys, planned with the same indexes", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const many = <A, E, R>(call: (n: number) => Effect.Effect<A, E, R>) =>
          Effect.all(
            Array.from({ length: 32 }, (_, k) => call(1 + k * 311)),
            { concurrency: "unbounded" }
          )
        const idOf = (n: number) => UserId.make(userIdOf(n))
        const permissionOf = (n: number) => permissionNameOf((n % FullVolume.roles) * FullVolume.permissionsPerRole)
        yield* assertIndexed(
          "users",
          many((n) => users.findById(idOf(n))),
          2
        )
        yield* assertIndexed(
          "users",
          many((n) => users.findByEmail(emailOf(n))),
          2
        )
        yield* assertIndexed(
          "user_roles",
          many((n) => users.hasPermission(idOf(n), permissionOf(n))),
          2
        )
        yield* assertIndexed(
          "role_permissions",
          many((n) => users.hasPermission(idOf(n), permissionOf(n))),
          2
        )
        yield* assertIndexed(
          "users",
          many((n) => users.findWithAccess(idOf(n))),
          32
        )
        yield* assertIndexed(
          "user_roles",
          many((n) => users.findWithAccess(idOf(n))),
          32
        )
      })
    )

    it.effect("the user list after a cursor", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const first = yield* users.list({ limit: 50 })
        yield* assertIndexed("users", users.list({ limit: 50, cursor: Option.getOrUndefined(first.nextCursor) }))
      })
    )

    it.effect("the audit list: first page, after a cursor, and with each filter", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLogRepository
        const first = yield* audit.list({ limit: 50 })
        // The newest seeded entry; the rest go back one every 20 seconds (23 days for 100,000 rows).
        const anEntry = first.items[0]!
        const newest = anEntry.timestamp
        yield* assertIndexed("audit_logs", audit.list({ limit: 50 }))
        yield* assertIndexed("audit_logs", audit.list({ limit: 50, cursor: Option.getOrUndefined(first.nextCursor) }))
        yield* assertIndexed("audit_logs", audit.list({ limit: 50, actorId: userId }))
        yield* assertIndexed(
          "audit_logs",
          audit.list({ limit: 50, targetId: Option.getOrElse(anEntry.targetId, () => "doc-1") })
        )
        yield* assertIndexed("audit_logs", audit.list({ limit: 50, action: anEntry.action }))
        yield* assertIndexed("audit_logs", audit.list({ limit: 50, from: DateTime.subtract(newest, { days: 1 }) }))
        yield* assertIndexed("audit_logs", audit.list({ limit: 50, to: DateTime.subtract(newest, { days: 20 }) }))
      })
    )
  }
)
