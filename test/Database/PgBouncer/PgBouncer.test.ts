/**
 * `database.pgbouncer: true` behind a real PgBouncer in transaction mode: migrations, a concurrent load and the
 * statement timeout go through it; a wrong setting fails at startup in one line and leaves the bouncer usable.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Redacted } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import { AppConfig } from "../../../src/Config/AppConfig.ts"
import { isTransientSqlError } from "../../../src/Database/Client/SqlFailure.ts"
import * as Database from "../../../src/Database/Database.ts"
import { DatabaseMigrations } from "../../../src/Database/Migrations/DatabaseMigrations.ts"
import { AuditLogRepository } from "../../../src/Database/Repositories/AuditLogRepository.ts"
import { Transactions } from "../../../src/Database/Repositories/Transactions.ts"
import { UserRepository } from "../../../src/Database/Repositories/UserRepository.ts"
import * as RepositoryLayers from "../../../src/Database/RepositoryLayers.ts"
import { makeHash, uniqueEmail } from "../../Contract/Fixtures.ts"
import { runCli } from "../../Main/runCli.ts"
import { withAdmin } from "../../support/adminClient.ts"
import { startClient } from "../../support/ClientStartup.ts"
import { freePort } from "../../support/freePort.ts"
import { pgBouncerUnavailable, startPgBouncer } from "../../support/PgBouncer.ts"
import { adminUrl, scopedDatabase, testConfig } from "../../support/TestDatabase.ts"
import { MIGRATIONS_TABLE } from "../../support/urls.ts"

const unavailable = pgBouncerUnavailable()
if (unavailable !== undefined) console.warn(`PgBouncer tests skipped: ${unavailable}`)

const AT_ONCE_MS = 5_000
const CALLS = 200
const CONCURRENCY = 20

/** Backends of `database` on the server itself (not through the bouncer), with their state and query. */
const serverSessions = (database: { readonly url: string; readonly name: string }) =>
  withAdmin(adminUrl(), (admin) =>
    admin<{ readonly state: string | null; readonly query: string }>`
      SELECT state, query FROM pg_stat_activity WHERE datname = ${database.name} AND pid <> pg_backend_pid()`.pipe(
      Effect.map((rows) => rows.map((row) => ({ state: row.state ?? "", query: row.query })))
    )
  ).pipe(Effect.orDie)

const buildLayer = <A, E>(layer: Layer.Layer<A, E>) => Layer.build(layer)

describe.skipIf(unavailable !== undefined)(
  `behind PgBouncer in transaction mode${unavailable === undefined ? "" : ` (skipped: ${unavailable})`}`,
  () => {
    it.live(
      "migrations apply through it, then find nothing to do",
      () =>
        Effect.gen(function* () {
          const database = yield* scopedDatabase({ from: "empty" })
          const bouncer = yield* startPgBouncer({ upstreamUrl: adminUrl() })
          const config = yield* testConfig({ DATABASE_URL: bouncer.url(database.name), DATABASE_PGBOUNCER: "true" })
          const migrate = Effect.scoped(
            Effect.map(buildLayer(Database.layer.pipe(Layer.provide(AppConfig.layerFrom(config)))), (services) =>
              Context.get(services, DatabaseMigrations).appliedAtStartup.map(([id]) => id)
            )
          )
          assert.deepStrictEqual(yield* migrate, [1, 2, 3, 4, 5, 6])
          assert.deepStrictEqual(yield* migrate, [])
          const history = yield* withAdmin(
            database.url,
            (sql) =>
              sql<{ readonly id: number }>`SELECT migration_id AS id FROM schema_migrations ORDER BY 1`.withoutTransform
          ).pipe(Effect.orDie)
          assert.deepStrictEqual(
            history.map((row) => row.id),
            [1, 2, 3, 4, 5, 6]
          )
        }).pipe(Effect.scoped),
      { timeout: 60_000 }
    )

    it.live(
      `${CALLS} repository transactions at ${CONCURRENCY}-way pass; no server session is left in a transaction`,
      () =>
        Effect.gen(function* () {
          const database = yield* scopedDatabase({ from: "template" })
          const bouncer = yield* startPgBouncer({ upstreamUrl: adminUrl(), poolSize: 4 })
          const config = yield* testConfig({
            DATABASE_URL: bouncer.url(database.name),
            DATABASE_PGBOUNCER: "true",
            DATABASE_POOL_MAX_CONNECTIONS: String(CONCURRENCY)
          })
          const services = yield* buildLayer(
            RepositoryLayers.layer.pipe(Layer.provideMerge(Database.layer), Layer.provide(AppConfig.layerFrom(config)))
          )
          const users = Context.get(services, UserRepository)
          const audit = Context.get(services, AuditLogRepository)
          const transactions = Context.get(services, Transactions)
          const created = yield* Effect.forEach(
            Array.from({ length: CALLS }, (_, index) => index),
            (index) =>
              transactions.withTransaction(
                Effect.gen(function* () {
                  const user = yield* users.create({ email: uniqueEmail(`load${index}`), passwordHash: makeHash() })
                  yield* audit.append({ action: "load.user_created", targetId: user.id })
                  return (yield* users.findById(user.id)).id
                })
              ),
            { concurrency: CONCURRENCY }
          )
          assert.strictEqual(new Set(created).size, CALLS)
          const sessions = yield* serverSessions(database)
          assert.deepStrictEqual(
            sessions.filter((session) => session.state.startsWith("idle in transaction")),
            [],
            "a server connection was left inside a transaction"
          )
          const [counts] = yield* withAdmin(
            database.url,
            (sql) =>
              sql<{ readonly users: number; readonly audits: number }>`
              SELECT (SELECT count(*)::int FROM users) AS users,
                     (SELECT count(*)::int FROM audit_logs WHERE action = 'load.user_created') AS audits`
          ).pipe(Effect.orDie)
          assert.deepStrictEqual({ ...counts! }, { users: CALLS, audits: CALLS })
        }).pipe(Effect.scoped),
      { timeout: 90_000 }
    )

    it.live(
      "the statement timeout is enforced: a longer pg_sleep fails with a retryable error and is cancelled on the server",
      () =>
        Effect.gen(function* () {
          const database = yield* scopedDatabase({ from: "template" })
          const bouncer = yield* startPgBouncer({ upstreamUrl: adminUrl() })
          const config = yield* testConfig({
            DATABASE_URL: bouncer.url(database.name),
            DATABASE_PGBOUNCER: "true",
            DATABASE_STATEMENT_TIMEOUT: "300 millis",
            DATABASE_MIGRATIONS_RUN: "false"
          })
          const services = yield* buildLayer(Database.layerConnection.pipe(Layer.provide(AppConfig.layerFrom(config))))
          const sql = Context.get(services, SqlClient.SqlClient)
          const timedOut = (statement: Effect.Effect<unknown, SqlError.SqlError>) =>
            Effect.gen(function* () {
              const startedAt = Date.now()
              const error = yield* Effect.flip(statement)
              return { error, elapsedMs: Date.now() - startedAt }
            })

          for (const run of [sql`SELECT pg_sleep(10)`, sql.withTransaction(sql`SELECT pg_sleep(10)`)]) {
            const { error, elapsedMs } = yield* timedOut(run)
            assert.isTrue(SqlError.isSqlError(error))
            assert.strictEqual(error.reason._tag, "StatementTimeoutError")
            assert.isTrue(isTransientSqlError(error))
            assert.include(error.reason.message, "database.statementTimeout")
            assert.isBelow(elapsedMs, AT_ONCE_MS, `took ${elapsedMs} ms`)
          }
          // Cancelled on the server, not merely abandoned by the client.
          const stillSleeping = yield* Effect.gen(function* () {
            for (let attempt = 0; attempt < 40; attempt++) {
              const sessions = yield* serverSessions(database)
              const sleeping = sessions.filter((s) => s.state === "active" && s.query.includes("pg_sleep(10)"))
              if (sleeping.length === 0) return sleeping
              yield* Effect.sleep("100 millis")
            }
            return yield* serverSessions(database)
          })
          assert.deepStrictEqual(stillSleeping, [], "pg_sleep(10) still runs on the server")
          // The connections are fine afterwards.
          assert.deepStrictEqual(yield* sql<{ readonly one: number }>`SELECT 1 AS one`, [{ one: 1 }])
        }).pipe(Effect.scoped),
      { timeout: 60_000 }
    )

    describe("a wrong setting fails at startup, in one line, and leaves the bouncer usable", () => {
      const assertRefusedAtOnce = (outcome: Effect.Success<ReturnType<typeof startClient>>, expected: RegExp): void => {
        assert.isTrue(Exit.isFailure(outcome.exit), "startup succeeded, but should have failed")
        assert.match(outcome.message, expected)
        assert.notInclude(outcome.message, "\n")
        assert.isBelow(outcome.elapsedMs, AT_ONCE_MS, `took ${outcome.elapsedMs} ms: ${outcome.message}`)
      }
      const selectOne = (sql: SqlClient.SqlClient) => sql`SELECT 1`

      it.live(
        "pgbouncer mode off: the statement_timeout startup parameter is refused",
        () =>
          Effect.gen(function* () {
            const database = yield* scopedDatabase({ from: "template" })
            const bouncer = yield* startPgBouncer({ upstreamUrl: adminUrl() })
            const wrong = yield* testConfig({
              DATABASE_URL: bouncer.url(database.name),
              DATABASE_STARTUP_TIMEOUT: "20 seconds"
            })
            assertRefusedAtOnce(
              yield* startClient(wrong, selectOne),
              /unsupported startup parameter: statement_timeout; .*set database\.pgbouncer: true/
            )
            const right = yield* testConfig({ DATABASE_URL: bouncer.url(database.name), DATABASE_PGBOUNCER: "true" })
            assert.isTrue(Exit.isSuccess((yield* startClient(right, selectOne)).exit))
          }).pipe(Effect.scoped),
        { timeout: 60_000 }
      )

      it.live(
        "pgbouncer mode off behind a bouncer that drops the parameter: the pooler is noticed before anything runs",
        () =>
          Effect.gen(function* () {
            const database = yield* scopedDatabase({ from: "template" })
            const bouncer = yield* startPgBouncer({
              upstreamUrl: adminUrl(),
              ignoreStartupParameters: "statement_timeout"
            })
            const wrong = yield* testConfig({
              DATABASE_URL: bouncer.url(database.name),
              DATABASE_STARTUP_TIMEOUT: "20 seconds"
            })
            assertRefusedAtOnce(
              yield* startClient(wrong, selectOne),
              /a connection pooler stands between the client and the server .*set database\.pgbouncer: true/
            )
            const right = yield* testConfig({ DATABASE_URL: bouncer.url(database.name), DATABASE_PGBOUNCER: "true" })
            assert.isTrue(Exit.isSuccess((yield* startClient(right, selectOne)).exit))
          }).pipe(Effect.scoped),
        { timeout: 60_000 }
      )

      it.live(
        "pgbouncer mode off with no statement timeout (nothing sent at startup, prepare on): the pooler itself is detected",
        () =>
          Effect.gen(function* () {
            const database = yield* scopedDatabase({ from: "template" })
            const bouncer = yield* startPgBouncer({ upstreamUrl: adminUrl(), poolSize: 2 })
            const wrong = yield* testConfig({
              DATABASE_URL: bouncer.url(database.name),
              DATABASE_STATEMENT_TIMEOUT: "0 millis",
              DATABASE_STARTUP_TIMEOUT: "20 seconds"
            })
            assert.isTrue(wrong.database.prepare && !wrong.database.pgbouncer)
            const outcome = yield* startClient(wrong, selectOne)
            assertRefusedAtOnce(
              outcome,
              /a connection pooler stands between the client and the server \(the session runs in server process \d+, but process -?\d+ was announced at connection\); .*set database\.pgbouncer: true/
            )
            console.info(`wedge case refused: ${outcome.message}`)
            // Nothing was left behind on the bouncer's server sessions: none inside a transaction, none wedged.
            const sessions = yield* serverSessions(database)
            assert.deepStrictEqual(
              sessions.filter((session) => session.state.startsWith("idle in transaction")),
              [],
              "a server connection was left inside a transaction"
            )
            const right = yield* testConfig({
              DATABASE_URL: bouncer.url(database.name),
              DATABASE_PGBOUNCER: "true",
              DATABASE_STATEMENT_TIMEOUT: "0 millis"
            })
            assert.isTrue(Exit.isSuccess((yield* startClient(right, selectOne)).exit))
          }).pipe(Effect.scoped),
        { timeout: 60_000 }
      )

      it.live(
        "the same wedge case through the CLI: serve exits non-zero at once with one line naming database.pgbouncer",
        () =>
          Effect.gen(function* () {
            const database = yield* scopedDatabase({ from: "template" })
            const bouncer = yield* startPgBouncer({ upstreamUrl: adminUrl(), poolSize: 2 })
            const httpPort = yield* Effect.promise(freePort)
            const result = yield* Effect.promise(() =>
              runCli(["serve"], {
                env: {
                  DATABASE_URL: bouncer.url(database.name),
                  DATABASE_MIGRATIONS_TABLE: MIGRATIONS_TABLE,
                  DATABASE_STATEMENT_TIMEOUT: "0 millis",
                  DATABASE_STARTUP_TIMEOUT: "20 seconds",
                  HTTP_HOST: "127.0.0.1",
                  HTTP_PORT: String(httpPort)
                },
                timeoutMs: 30_000
              })
            )
            const described = `exit ${result.code}, ${result.elapsedMs} ms\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`
            assert.isFalse(result.timedOut, described)
            assert.notStrictEqual(result.code, 0, described)
            const lines = result.stderr.split("\n").filter((line) => line.trim() !== "")
            assert.strictEqual(lines.length, 1, described)
            assert.match(
              lines[0]!,
              new RegExp(
                `^platform-kernel: cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${bouncer.port}, database "${database.name}": a connection pooler stands between the client and the server .*set database\\.pgbouncer: true`
              ),
              described
            )
            console.info(`serve refused: ${lines[0]}`)
          }).pipe(Effect.scoped),
        { timeout: 60_000 }
      )

      it.live("prepare forced on next to pgbouncer mode is refused before connecting", () =>
        Effect.gen(function* () {
          const config = yield* testConfig({ DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" })
          const outcome = yield* startClient(
            {
              ...config,
              database: { ...config.database, url: Redacted.make(adminUrl()), pgbouncer: true, prepare: true }
            },
            selectOne
          )
          assertRefusedAtOnce(outcome, /database\.prepare must be false with database\.pgbouncer/)
        })
      )
    })
  }
)
