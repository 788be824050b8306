/**
 * Issue 11: concurrent hot reads of one kind become one statement, and concurrent audit appends made outside
 * a transaction are committed together; each caller still gets its own answer, row or error.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Fiber, Layer, Option, Scope, Tracer } from "effect"
import { SqlClient, Statement } from "effect/sql"
import { AppConfig } from "../../../src/Config/AppConfig.ts"
import * as Database from "../../../src/Database/Database.ts"
import { LookupBatching } from "../../../src/Database/Postgres/BatchedLookup.ts"
import { AuditLogRepository } from "../../../src/Database/Repositories/AuditLogRepository.ts"
import { PermissionRepository } from "../../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../../src/Database/Repositories/RoleRepository.ts"
import { Transactions } from "../../../src/Database/Repositories/Transactions.ts"
import { UserRepository } from "../../../src/Database/Repositories/UserRepository.ts"
import * as RepositoryLayers from "../../../src/Database/RepositoryLayers.ts"
import { type Email, UserId } from "../../../src/Domain/index.ts"
import { makeHash, unique, uniqueEmail, uniquePermissionName, uniqueRoleName } from "../../Contract/Fixtures.ts"
import { withAdmin } from "../../support/adminClient.ts"
import { eventually } from "../../support/Eventually.ts"
import { RepositoriesTestLayer } from "../../support/RepositoriesTestLayer.ts"
import { sessionsNamed } from "../../support/Sessions.ts"
import { recordStatements } from "../../support/StatementRecorder.ts"
import { adminUrl, scopedDatabase, testConfig } from "../../support/TestDatabase.ts"
import { databaseUrl } from "../../support/urls.ts"

const callers = 24
const missingId = (n: number) => UserId.make(`00000000-0000-7000-8000-${n.toString(16).padStart(12, "0")}`)

const concurrently = <A, E, R>(calls: ReadonlyArray<Effect.Effect<A, E, R>>) =>
  recordStatements(Effect.all(calls.map(Effect.exit), { concurrency: "unbounded" }))

const inserts = (statements: ReadonlyArray<string>) =>
  statements.filter((statement) => statement.trimStart().startsWith("INSERT"))

const rowsWithIds = (ids: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly count: number }>`SELECT count(*)::int AS count FROM audit_logs
      WHERE id = ANY(${ids}::uuid[])`
    return rows[0]!.count
  })

// Users with roles: user k holds role k % 3; role r grants permission r.
const seed = Effect.gen(function* () {
  const users = yield* UserRepository
  const roles = yield* RoleRepository
  const permissions = yield* PermissionRepository
  const granted = yield* Effect.forEach([0, 1, 2], () =>
    Effect.gen(function* () {
      const role = yield* roles.create({ name: uniqueRoleName() })
      const permission = yield* permissions.create({ name: uniquePermissionName() })
      yield* roles.grant(role.id, permission.id)
      return { role, permission }
    })
  )
  const created = yield* Effect.forEach(Array.from({ length: callers / 2 }), (_, k) =>
    Effect.gen(function* () {
      const user = yield* users.create({ email: uniqueEmail(), passwordHash: makeHash() })
      yield* users.assignRole(user.id, granted[k % 3]!.role.id)
      return user
    })
  )
  return { users: created, granted }
})

layer(RepositoriesTestLayer(), { excludeTestServices: true, timeout: "60 seconds" })("batched hot reads", (it) => {
  it.effect("concurrent findById and findByEmail calls share statements; each caller gets its own user or none", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      const sql = yield* SqlClient.SqlClient
      const { users: created } = yield* seed
      // Stored with capitals (as another writer might): citext still matches the normalised address.
      const shouted = `Shouted.${unique()}@Example.IO`
      yield* sql`UPDATE users SET email = ${shouted} WHERE id = ${created[0]!.id}`
      const ids = created.flatMap((user, k) => [user.id, missingId(k + 1)])
      const [byId, idStatements] = yield* concurrently(ids.map((id) => users.findById(id)))
      assert.isBelow(idStatements.length, ids.length, idStatements.join("\n---\n"))
      assert.deepStrictEqual(
        byId.map((exit) => (Exit.isSuccess(exit) ? exit.value.id : Exit.isFailure(exit) ? "failed" : "")),
        ids.map((id, k) => (k % 2 === 0 ? id : "failed"))
      )
      for (const [k, exit] of byId.entries()) {
        if (k % 2 === 1) assert.isTrue(Exit.isFailure(exit) && Cause.hasFails(exit.cause))
      }

      const emails = created.flatMap((user, k) => [
        k === 0 ? (shouted.toLowerCase() as Email) : user.email,
        `missing.${unique()}@example.io`
      ])
      const [byEmail, emailStatements] = yield* concurrently(emails.map((email) => users.findByEmail(email)))
      assert.isBelow(emailStatements.length, emails.length, emailStatements.join("\n---\n"))
      assert.deepStrictEqual(
        byEmail.map((exit) => (Exit.isSuccess(exit) ? exit.value.id : "failed")),
        created.flatMap((user) => [user.id, "failed"])
      )
    })
  )

  it.effect("concurrent hasPermission calls share statements; each caller gets its own answer", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      const { users: created, granted } = yield* seed
      // Each user asked for its own role's permission (allowed) and for the next role's (denied), and an
      // unknown user for an existing permission (denied).
      const checks = [
        ...created.flatMap((user, k) => [
          { userId: user.id, permission: granted[k % 3]!.permission.name, allowed: true },
          { userId: user.id, permission: granted[(k + 1) % 3]!.permission.name, allowed: false }
        ]),
        { userId: missingId(7), permission: granted[0]!.permission.name, allowed: false }
      ]
      const [answers, statements] = yield* concurrently(
        checks.map(({ userId, permission }) => users.hasPermission(userId, permission))
      )
      assert.isBelow(statements.length, checks.length, statements.join("\n---\n"))
      assert.deepStrictEqual(
        answers.map((exit) => (Exit.isSuccess(exit) ? exit.value : "failed")),
        checks.map(({ allowed }) => allowed)
      )
    })
  )

  it.effect("findWithAccess is not batched by default (the batching table): one scalar statement per caller", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      const { users: created } = yield* seed
      const ids = created.map((user) => user.id)
      const [answers, statements] = yield* concurrently(ids.map((id) => users.findWithAccess(id)))
      assert.strictEqual(statements.length, ids.length, statements.join("\n---\n"))
      for (const statement of statements) assert.notInclude(statement, "unnest")
      assert.deepStrictEqual(
        answers.map((exit) => (Exit.isSuccess(exit) ? exit.value.user.id : "failed")),
        ids
      )
    })
  )

  // Through the resolver the statement would run in a fiber the resolver forks; alone, it runs in the caller's.
  it.effect("a lone caller runs the scalar statement in its own fiber, without the batching machinery", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      const { users: created } = yield* seed
      const ranIn: Array<number> = []
      const transformer: Statement.Transformer = (statement, _sql, fiber) =>
        Effect.sync(() => {
          ranIn.push(fiber.id)
          return statement
        })
      const calls: ReadonlyArray<Effect.Effect<unknown, unknown>> = [
        users.findById(created[0]!.id),
        users.findByEmail(created[1]!.email),
        users.hasPermission(created[2]!.id, "doc.pages.read")
      ]
      for (const call of calls) {
        const caller = yield* Effect.withFiber((fiber) => Effect.succeed(fiber.id))
        ranIn.length = 0
        yield* Effect.provideService(call, Statement.CurrentTransformer, transformer)
        assert.deepStrictEqual(ranIn, [caller])
      }
    })
  )

  it.effect("a lone caller runs the scalar statement; calls one after the other never batch", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      const { users: created } = yield* seed
      const [, statements] = yield* recordStatements(
        Effect.forEach(created, (user) => users.findById(user.id), { discard: true })
      )
      assert.strictEqual(statements.length, created.length)
      for (const statement of statements) assert.include(statement, "FROM users WHERE id = $1")
    })
  )
})

const allBatched = Layer.succeed(LookupBatching, {
  findById: true,
  findByEmail: true,
  hasPermission: true,
  findWithAccess: true
})
const noneBatched = Layer.succeed(LookupBatching, {
  findById: false,
  findByEmail: false,
  hasPermission: false,
  findWithAccess: false
})

layer(RepositoriesTestLayer().pipe(Layer.provide(allBatched)), { excludeTestServices: true, timeout: "60 seconds" })(
  "the batching table, findWithAccess batched",
  (it) => {
    it.effect("concurrent findWithAccess calls share statements; each caller gets its own user and roles", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const { users: created, granted } = yield* seed
        const ids = [...created.map((user) => user.id), missingId(9)]
        const [answers, statements] = yield* concurrently(ids.map((id) => users.findWithAccess(id)))
        assert.isBelow(statements.length, ids.length, statements.join("\n---\n"))
        assert.deepStrictEqual(
          answers.map((exit) =>
            Exit.isSuccess(exit)
              ? [
                  exit.value.user.id,
                  exit.value.roles.map(({ role, permissions }) => [role.id, permissions.map((p) => p.id)])
                ]
              : "failed"
          ),
          [
            ...created.map((user, k) => [user.id, [[granted[k % 3]!.role.id, [granted[k % 3]!.permission.id]]]]),
            "failed"
          ]
        )
      })
    )
  }
)

layer(RepositoriesTestLayer().pipe(Layer.provide(noneBatched)), { excludeTestServices: true, timeout: "60 seconds" })(
  "the batching table, nothing batched",
  (it) => {
    it.effect("every concurrent lookup runs its own scalar statement", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const { users: created, granted } = yield* seed
        const ids = created.map((user) => user.id)
        const [byId, idStatements] = yield* concurrently(ids.map((id) => users.findById(id)))
        const [byEmail, emailStatements] = yield* concurrently(created.map((user) => users.findByEmail(user.email)))
        const [checks, checkStatements] = yield* concurrently(
          created.map((user) => users.hasPermission(user.id, granted[0]!.permission.name))
        )
        for (const statements of [idStatements, emailStatements, checkStatements]) {
          assert.strictEqual(statements.length, ids.length, statements.join("\n---\n"))
          for (const statement of statements) assert.notInclude(statement, "unnest")
        }
        assert.deepStrictEqual(
          byId.map((exit) => (Exit.isSuccess(exit) ? exit.value.id : "failed")),
          ids
        )
        assert.deepStrictEqual(
          byEmail.map((exit) => (Exit.isSuccess(exit) ? exit.value.id : "failed")),
          ids
        )
        assert.deepStrictEqual(
          checks.map((exit) => (Exit.isSuccess(exit) ? exit.value : "failed")),
          created.map((_, k) => k % 3 === 0)
        )
      })
    )
  }
)

layer(RepositoriesTestLayer(), { excludeTestServices: true, timeout: "60 seconds" })(
  "group commit of appends",
  (it) => {
    it.effect("concurrent appends share INSERTs; each caller gets its own row, committed when the call returns", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLogRepository
        const targetId = unique()
        const [exits, statements] = yield* concurrently(
          Array.from({ length: callers }, (_, n) =>
            Effect.gen(function* () {
              const log = yield* audit.append({ action: "test.grouped", targetId, metadata: { n } })
              // Seen from another connection as soon as the call returns.
              return { log, visible: yield* rowsWithIds([log.id]) }
            })
          )
        )
        assert.isBelow(inserts(statements).length, callers, statements.join("\n---\n"))
        const results = exits.map((exit) => (Exit.isSuccess(exit) ? exit.value : assert.fail(String(exit))))
        assert.deepStrictEqual(
          results.map(({ log, visible }) => [log.metadata.n, Option.getOrNull(log.targetId), visible]),
          Array.from({ length: callers }, (_, n) => [n, targetId, 1])
        )
        assert.strictEqual(new Set(results.map(({ log }) => log.id)).size, callers)
      })
    )

    it.effect("a lone append is one INSERT sent by its caller's own fiber, not handed to the worker", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLogRepository
        const caller = Fiber.getCurrent()
        // Which fiber opens each statement's client span: the caller's, or the group-commit worker's.
        const opened: Array<{ readonly span: Tracer.Span; readonly fiber: Fiber.Fiber<unknown, unknown> | undefined }> =
          []
        const tracer = Tracer.make({
          span(options) {
            const span = new Tracer.NativeSpan(options)
            opened.push({ span, fiber: Fiber.getCurrent() })
            return span
          }
        })
        const log = yield* Effect.withTracer(audit.append({ action: "test.lone", metadata: { n: 1 } }), tracer)
        const inserts = opened.filter(({ span }) =>
          String(span.attributes.get("db.query.text") ?? "")
            .trimStart()
            .startsWith("INSERT")
        )
        assert.strictEqual(inserts.length, 1, "one statement")
        assert.strictEqual(inserts[0]!.fiber, caller, "sent by the caller's fiber")
        assert.strictEqual(yield* rowsWithIds([log.id]), 1, "committed when the call returns")
      })
    )

    it.effect("an invalid entry fails only its own caller", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLogRepository
        const targetId = unique()
        const exits = yield* Effect.all(
          Array.from({ length: 10 }, (_, n) =>
            Effect.exit(audit.append({ action: n === 4 ? "Not An Action" : "test.mixed", targetId, metadata: { n } }))
          ),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(
          exits.map((exit) => (Exit.isSuccess(exit) ? exit.value.metadata.n : "failed")),
          [0, 1, 2, 3, "failed", 5, 6, 7, 8, 9]
        )
        assert.strictEqual(
          yield* rowsWithIds(exits.flatMap((exit) => (Exit.isSuccess(exit) ? [exit.value.id] : []))),
          9
        )
      })
    )

    it.effect("appends inside a transaction use it and roll back with it", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLogRepository
        const transactions = yield* Transactions
        const targetId = unique()
        const { logs, seen } = yield* transactions
          .withTransaction(
            Effect.gen(function* () {
              const logs = yield* Effect.all(
                Array.from({ length: 5 }, (_, n) =>
                  audit.append({ action: "test.rolled_back", targetId, metadata: { n } })
                ),
                { concurrency: "unbounded" }
              )
              const seen = yield* rowsWithIds(logs.map((log) => log.id))
              return yield* Effect.fail({ logs, seen })
            })
          )
          .pipe(
            Effect.flip,
            Effect.map((failure) => ("logs" in failure ? failure : assert.fail(String(failure))))
          )
        assert.strictEqual(seen, 5, "inside the transaction, its own rows are visible")
        assert.strictEqual(yield* rowsWithIds(logs.map((log) => log.id)), 0, "rolled back with it")
      })
    )
  }
)

// A CHECK the front does not know of: the database refuses one row of a group, and only its caller fails.
layer(RepositoriesTestLayer(), { excludeTestServices: true, timeout: "60 seconds" })(
  "a row the database refuses",
  (it) => {
    it.effect("fails only its own caller; the rest of its group is committed", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const audit = yield* AuditLogRepository
        yield* sql.unsafe(
          "ALTER TABLE audit_logs ADD CONSTRAINT test_no_poison CHECK (action <> 'test.poison') NOT VALID"
        )
        const targetId = unique()
        const [exits, statements] = yield* concurrently(
          Array.from({ length: 12 }, (_, n) =>
            audit.append({ action: n === 5 ? "test.poison" : "test.healthy", targetId, metadata: { n } })
          )
        )
        assert.deepStrictEqual(
          exits.map((exit) => (Exit.isSuccess(exit) ? exit.value.metadata.n : "failed")),
          [0, 1, 2, 3, 4, "failed", 6, 7, 8, 9, 10, 11]
        )
        const poisoned = exits[5]!
        assert.isTrue(
          Exit.isFailure(poisoned) && Cause.hasDies(poisoned.cause),
          "a constraint the schema does not know"
        )
        assert.strictEqual(
          yield* rowsWithIds(exits.flatMap((exit) => (Exit.isSuccess(exit) ? [exit.value.id] : []))),
          11
        )
        // The group's one statement failed, then each of its 12 rows was written alone.
        assert.strictEqual(inserts(statements).length, 13, statements.join("\n---\n"))
      })
    )
  }
)

describe("closing the repositories with appends waiting", () => {
  it.live(
    "answers every caller (written, or refused once closed), duplicates nothing and leaks no session",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const database = yield* scopedDatabase({ from: "template" })
          const applicationName = `pk-group-close-${process.pid}-${unique()}`
          const config = yield* testConfig({ DATABASE_URL: database.url, DATABASE_APPLICATION_NAME: applicationName })
          const scope = yield* Scope.make()
          const context = yield* Layer.buildWithScope(
            RepositoryLayers.layer.pipe(
              Layer.provideMerge(Database.layer),
              Layer.provideMerge(AppConfig.layerFrom(config))
            ),
            scope
          )
          const audit = Context.get(context, AuditLogRepository)
          const fibers = yield* Effect.forEach(Array.from({ length: 200 }), (_, n) =>
            Effect.forkDetach(audit.append({ action: "test.closing", metadata: { n } }))
          )
          yield* Effect.yieldNow
          yield* Scope.close(scope, Exit.void)
          const exits = yield* Effect.forEach(fibers, Fiber.await)
          const written = exits.flatMap((exit) => (Exit.isSuccess(exit) ? [exit.value.id] : []))
          const late = yield* Effect.exit(audit.append({ action: "test.closing", metadata: { n: -1 } }))
          assert.isTrue(Exit.isFailure(late) && !Cause.hasDies(late.cause), `an append once closed fails: ${late}`)
          assert.isAbove(written.length, 0, "those waiting when the scope closed were written")
          for (const exit of exits) if (Exit.isFailure(exit)) assert.isFalse(Cause.hasDies(exit.cause), String(exit))
          const stored = yield* withAdmin(
            databaseUrl(adminUrl(), database.name),
            (admin) => admin<{ readonly id: string }>`SELECT id FROM audit_logs WHERE action = 'test.closing'`
          )
          assert.sameMembers(
            stored.map(({ id }) => id),
            written
          )
          assert.strictEqual(yield* eventually(sessionsNamed(applicationName), (count) => count === 0), 0)
        })
      ),
    60_000
  )
})
