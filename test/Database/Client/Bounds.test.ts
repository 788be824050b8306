/**
 * Every wait of the client is bounded and saturation is fair: a wait for a connection ends after
 * database.pool.acquireTimeout, an answer after database.queryTimeout, both with a retryable error the
 * repositories report as DatabaseUnavailable; callers are served in arrival order; the health check does not
 * queue behind the application; every connection has TCP keepalive.
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import { AppConfig } from "../../../src/Config/AppConfig.ts"
import { isTransientSqlError } from "../../../src/Database/Client/SqlFailure.ts"
import * as Database from "../../../src/Database/Database.ts"
import { DatabaseHealth } from "../../../src/Database/Health/DatabaseHealth.ts"
import { UserRepository } from "../../../src/Database/Repositories/UserRepository.ts"
import * as RepositoryLayers from "../../../src/Database/RepositoryLayers.ts"
import { makeHash, uniqueEmail } from "../../Contract/Fixtures.ts"
import { withAdmin } from "../../support/adminClient.ts"
import { eventually } from "../../support/Eventually.ts"
import { adminUrl, scopedDatabase, testConfig } from "../../support/TestDatabase.ts"

const run = promisify(execFile)

// Far below the time the blocked work takes, so a call that waited for it cannot pass.
const BOUND_MS = 1_500

/** The connection layer on a migrated database of its own, configured by `env`. */
const connected = (env: Record<string, string>) =>
  Effect.gen(function* () {
    const database = yield* scopedDatabase({ from: "template" })
    const config = yield* testConfig({ DATABASE_URL: database.url, ...env })
    const services = yield* Layer.build(
      RepositoryLayers.layer.pipe(
        Layer.provideMerge(DatabaseHealth.layer),
        Layer.provideMerge(Database.layer),
        Layer.provide(AppConfig.layerFrom(config))
      )
    )
    return {
      database,
      sql: Context.get(services, SqlClient.SqlClient),
      users: Context.get(services, UserRepository),
      health: Context.get(services, DatabaseHealth)
    }
  })

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const startedAt = Date.now()
    const exit = yield* Effect.exit(effect)
    return { exit, elapsedMs: Date.now() - startedAt }
  })

const failureOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const startedAt = Date.now()
    const error = yield* Effect.flip(effect)
    return { error, elapsedMs: Date.now() - startedAt }
  })

/** Sessions of `database` running `text`, as the server sees them. */
const running = (database: { readonly name: string }, text: string) =>
  withAdmin(
    adminUrl(),
    (admin) =>
      admin<{ readonly pid: number }>`
      SELECT pid FROM pg_stat_activity
      WHERE datname = ${database.name} AND state = 'active' AND query LIKE ${`%${text}%`}
        AND pid <> pg_backend_pid()`
  ).pipe(
    Effect.map((rows) => rows.length),
    Effect.orDie
  )

describe("bounded waits", () => {
  it.live("a call that finds no free connection within database.pool.acquireTimeout fails, retryably", () =>
    Effect.gen(function* () {
      const { sql, users, database } = yield* connected({
        DATABASE_POOL_MAX_CONNECTIONS: "1",
        DATABASE_POOL_ACQUIRE_TIMEOUT: "300 millis"
      })
      const user = yield* users.create({ email: uniqueEmail("acquire"), passwordHash: makeHash() })
      const holder = yield* Effect.forkChild(sql`SELECT pg_sleep(5) AS held`)
      yield* eventually(running(database, "AS held"), (count) => count === 1)

      const raw = yield* failureOf(sql`SELECT 1`)
      assert.isTrue(SqlError.isSqlError(raw.error))
      assert.strictEqual(raw.error.reason._tag, "ConnectionError")
      assert.isTrue(isTransientSqlError(raw.error))
      assert.include(raw.error.reason.message, "no connection within database.pool.acquireTimeout (300ms)")
      assert.isBelow(raw.elapsedMs, BOUND_MS)

      const viaRepository = yield* failureOf(users.findById(user.id))
      assert.strictEqual(viaRepository.error._tag, "DatabaseUnavailable")
      assert.isBelow(viaRepository.elapsedMs, BOUND_MS)
      yield* Fiber.interrupt(holder)
    }).pipe(Effect.scoped)
  )

  it.live(
    "a statement without an answer within database.queryTimeout fails, retryably, and is cancelled on the server",
    () =>
      Effect.gen(function* () {
        const { sql, database } = yield* connected({
          DATABASE_STATEMENT_TIMEOUT: "0 millis",
          DATABASE_QUERY_TIMEOUT: "300 millis"
        })
        for (const statement of [sql`SELECT pg_sleep(10)`, sql.withTransaction(sql`SELECT pg_sleep(10)`)]) {
          const { error, elapsedMs } = yield* failureOf(statement)
          assert.isTrue(SqlError.isSqlError(error))
          assert.strictEqual(error.reason._tag, "StatementTimeoutError")
          assert.isTrue(isTransientSqlError(error))
          assert.include(error.reason.message, "no answer within database.queryTimeout (300ms)")
          assert.isBelow(elapsedMs, BOUND_MS)
        }
        assert.strictEqual(yield* eventually(running(database, "pg_sleep(10)"), (count) => count === 0), 0)
        assert.deepStrictEqual(yield* sql<{ readonly one: number }>`SELECT 1 AS one`, [{ one: 1 }])
      }).pipe(Effect.scoped)
  )

  it.live("the health check answers up at once while every connection of the pool is busy", () =>
    Effect.gen(function* () {
      const { sql, health, database } = yield* connected({
        DATABASE_POOL_MAX_CONNECTIONS: "2",
        DATABASE_HEALTH_TIMEOUT: "1 second"
      })
      // Two running and eight queued: the pool is saturated for about 15 s.
      const load = yield* Effect.forkChild(
        Effect.forEach(Array.from({ length: 10 }), () => sql`SELECT pg_sleep(3) AS busy`, { concurrency: "unbounded" })
      )
      yield* eventually(running(database, "AS busy"), (count) => count === 2)
      const { exit, elapsedMs } = yield* timed(health.check)
      assert.isTrue(exit._tag === "Success")
      if (exit._tag === "Success") {
        assert.strictEqual(exit.value.status, "up", exit.value.error)
        assert.deepStrictEqual(exit.value.migrations, { latest: 6, pending: 0 })
      }
      assert.isBelow(elapsedMs, 1_000)
      yield* Fiber.interrupt(load)
    }).pipe(Effect.scoped)
  )
})

/** min, p50, p99 and max of `values` (milliseconds). */
const summary = (values: ReadonlyArray<number>) => {
  const sorted = values.toSorted((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return { min: sorted[0]!, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! }
}

describe("saturation", () => {
  const CALLS = 200
  const SLEEP_S = 0.05

  for (const shape of ["statement", "transaction"] as const) {
    it.live(
      `${CALLS} concurrent ${SLEEP_S}s calls (${shape}) on a pool of 2 are served in arrival order`,
      () =>
        Effect.gen(function* () {
          const { sql } = yield* connected({
            DATABASE_POOL_MAX_CONNECTIONS: "2",
            DATABASE_POOL_MIN_CONNECTIONS: "2",
            DATABASE_POOL_ACQUIRE_TIMEOUT: "60 seconds"
          })
          yield* sql`SELECT 1`
          const call =
            shape === "statement"
              ? sql`SELECT pg_sleep(${SLEEP_S})`
              : sql.withTransaction(sql`SELECT pg_sleep(${SLEEP_S})`)
          const startedAt = performance.now()
          const finished: Array<number> = []
          const latencies = yield* Effect.forEach(
            Array.from({ length: CALLS }, (_, index) => index),
            (index) =>
              Effect.map(call, () => {
                finished.push(index)
                return performance.now() - startedAt
              }),
            { concurrency: "unbounded" }
          )
          const figures = summary(latencies)
          console.info(
            `saturation (${shape}, pool 2, ${CALLS} x pg_sleep(${SLEEP_S})): ` +
              Object.entries(figures)
                .map(([name, ms]) => `${name} ${Math.round(ms)} ms`)
                .join(", ")
          )
          // Relative to the backlog, not to the clock: the median caller waits about half of it, not all of it.
          assert.isBelow(figures.p50, 0.7 * figures.max)
          assert.isBelow(figures.min, 0.2 * figures.max)
          // And in arrival order: of the first half to arrive, nearly all finish in the first half.
          const firstHalf = new Set(finished.slice(0, CALLS / 2))
          const early = Array.from({ length: CALLS / 2 }, (_, index) => index).filter((index) => firstHalf.has(index))
          assert.isAtLeast(early.length, 0.9 * (CALLS / 2))
        }).pipe(Effect.scoped),
      { timeout: 60_000 }
    )
  }
})

/** The `ss` lines of the established TCP connections from local `port`; undefined without `ss`. */
const ss = async (port: number): Promise<string | undefined> => {
  try {
    const { stdout } = await run("ss", ["-tnoH", "state", "established", `( sport = :${port} )`])
    return stdout
  } catch {
    return undefined
  }
}
const ssMissing = await ss(1).then((output) => output === undefined)

describe("TCP keepalive", () => {
  for (const sslmode of ["disable", "prefer"] as const) {
    it.live.skipIf(ssMissing)(`is on for every connection (sslmode=${sslmode}; needs ss)`, () =>
      Effect.gen(function* () {
        const database = yield* scopedDatabase({ from: "template" })
        const url = new URL(database.url)
        url.searchParams.set("sslmode", sslmode)
        const config = yield* testConfig({
          DATABASE_URL: url.toString(),
          DATABASE_KEEP_ALIVE: "7 seconds",
          DATABASE_MIGRATIONS_RUN: "false"
        })
        const services = yield* Layer.build(Database.layerConnection.pipe(Layer.provide(AppConfig.layerFrom(config))))
        const sql = Context.get(services, SqlClient.SqlClient)
        const [session] = yield* sql<{ readonly clientPort: number }>`
          SELECT client_port FROM pg_stat_activity WHERE pid = pg_backend_pid()`
        const sockets = yield* Effect.promise(() => ss(session!.clientPort))
        assert.match(sockets ?? "", /timer:\(keepalive,/, `no keepalive timer on the client socket: ${sockets}`)
      }).pipe(Effect.scoped)
    )
  }
})
