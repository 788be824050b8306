/**
 * A server that freezes (every process of the cluster stopped with SIGSTOP, as a hung host or a stalled
 * network looks to a client) does not hold calls hostage: each ends within acquireTimeout + queryTimeout with
 * the retryable error the repositories report as DatabaseUnavailable, the health check says "down" within its
 * timeout, and after SIGCONT the same layer serves again.
 */
import { readdirSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Schedule } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import { AppConfig } from "../../../src/Config/AppConfig.ts"
import { isTransientSqlError } from "../../../src/Database/Client/SqlFailure.ts"
import * as Database from "../../../src/Database/Database.ts"
import { parentOf } from "../../../src/Database/Embedded/RunningServer.ts"
import { DatabaseHealth } from "../../../src/Database/Health/DatabaseHealth.ts"
import { Transactions } from "../../../src/Database/Repositories/Transactions.ts"
import { UserRepository } from "../../../src/Database/Repositories/UserRepository.ts"
import * as RepositoryLayers from "../../../src/Database/RepositoryLayers.ts"
import { makeHash, uniqueEmail } from "../../Contract/Fixtures.ts"
import { testConfig } from "../../support/TestDatabase.ts"
import { makeThrowawayPostgres, throwawayPostgresUnavailable } from "../../support/ThrowawayPostgres.ts"

const unavailable = await throwawayPostgresUnavailable({ tls: false })
if (unavailable !== undefined) console.warn(`freeze test skipped: ${unavailable}`)

const ACQUIRE_TIMEOUT_MS = 1_000
const QUERY_TIMEOUT_MS = 1_000
const HEALTH_TIMEOUT_MS = 500
// Scheduling slack on a busy 2-core machine; the freeze lasts far longer than bound + slack.
const SLACK_MS = 1_000
const BOUND_MS = ACQUIRE_TIMEOUT_MS + QUERY_TIMEOUT_MS + SLACK_MS
// Calls still running this long after the freeze began would have hung for it.
const GIVE_UP_MS = 10_000

/** The processes the postmaster started (backends and its helpers). */
const childrenOf = (postmaster: number): ReadonlyArray<number> =>
  readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => parentOf(pid) === postmaster)

const signalAll = (pids: ReadonlyArray<number>, signal: NodeJS.Signals) => {
  for (const pid of pids) {
    try {
      process.kill(pid, signal)
    } catch {
      // Gone already.
    }
  }
}

/**
 * The whole cluster stopped until the scope closes, then continued whatever happened. The postmaster first,
 * so it forks nothing new while its children are listed.
 */
const frozen = (postmaster: number) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      signalAll([postmaster], "SIGSTOP")
      signalAll(childrenOf(postmaster), "SIGSTOP")
    }),
    () =>
      Effect.sync(() => {
        signalAll(childrenOf(postmaster), "SIGCONT")
        signalAll([postmaster], "SIGCONT")
      })
  )

describe.skipIf(unavailable !== undefined)(
  `a frozen server${unavailable === undefined ? "" : ` (skipped: ${unavailable})`}`,
  () => {
    it.live(
      "calls in flight end within acquireTimeout + queryTimeout with retryable errors; after SIGCONT it serves again",
      () =>
        Effect.gen(function* () {
          const servers = yield* Effect.acquireRelease(
            Effect.promise(() => makeThrowawayPostgres({ tls: false })),
            (made) => Effect.promise(made.close)
          )
          const server = yield* Effect.promise(() => servers.start({ tls: false }))
          const config = yield* testConfig({
            DATABASE_URL: server.url({ host: "127.0.0.1" }),
            DATABASE_POOL_MAX_CONNECTIONS: "2",
            DATABASE_POOL_ACQUIRE_TIMEOUT: `${ACQUIRE_TIMEOUT_MS} millis`,
            DATABASE_QUERY_TIMEOUT: `${QUERY_TIMEOUT_MS} millis`,
            DATABASE_CONNECT_TIMEOUT: "1 second",
            DATABASE_HEALTH_TIMEOUT: `${HEALTH_TIMEOUT_MS} millis`
          })
          const services = yield* Layer.build(
            RepositoryLayers.layer.pipe(
              Layer.provideMerge(DatabaseHealth.layer),
              Layer.provideMerge(Database.layer),
              Layer.provide(AppConfig.layerFrom(config))
            )
          )
          const sql = Context.get(services, SqlClient.SqlClient)
          const users = Context.get(services, UserRepository)
          const health = Context.get(services, DatabaseHealth)
          const transactions = Context.get(services, Transactions)
          const user = yield* users.create({ email: uniqueEmail("freeze"), passwordHash: makeHash() })
          assert.strictEqual((yield* health.check).status, "up")
          const [backend] = yield* sql<{ readonly pid: number }>`SELECT pg_backend_pid() AS pid`
          const postmaster = parentOf(backend!.pid)!

          const timedCall = <A, E>(effect: Effect.Effect<A, E>) =>
            Effect.gen(function* () {
              const startedAt = Date.now()
              const exit = yield* Effect.exit(effect)
              return { exit, elapsedMs: Date.now() - startedAt }
            })
          const outcomes = yield* Effect.scoped(
            Effect.gen(function* () {
              // On the wire when the server stops: a statement, and a repository transaction (its statement
              // times out, then its ROLLBACK); the other calls wait for their connections.
              const onTheWire = yield* Effect.forkChild(
                Effect.all(
                  [
                    timedCall(sql`SELECT pg_sleep(0.5)`),
                    timedCall(
                      transactions.withTransaction(Effect.andThen(users.findById(user.id), sql`SELECT pg_sleep(0.5)`))
                    )
                  ],
                  { concurrency: "unbounded" }
                )
              )
              yield* Effect.sleep("100 millis")
              yield* frozen(postmaster)
              const waiting = yield* Effect.forkChild(
                Effect.all(
                  [
                    Effect.forEach(Array.from({ length: 4 }), () => timedCall(sql`SELECT 1`), {
                      concurrency: "unbounded"
                    }),
                    Effect.forEach(Array.from({ length: 4 }), () => timedCall(users.findById(user.id)), {
                      concurrency: "unbounded"
                    }),
                    timedCall(health.check)
                  ],
                  { concurrency: "unbounded" }
                )
              )
              const all = Effect.all({ wire: Fiber.join(onTheWire), rest: Fiber.join(waiting) })
              // Joined while the server is still frozen: the scope (and the freeze) ends only after this.
              return yield* Effect.timeoutOption(all, GIVE_UP_MS)
            })
          )
          assert.isTrue(outcomes._tag === "Some", `calls still running ${GIVE_UP_MS} ms into the freeze`)
          if (outcomes._tag !== "Some") return
          const { wire, rest } = outcomes.value
          const [statementOnTheWire, transactionOnTheWire] = wire
          const [raw, viaRepository, healthOutcome] = rest
          const calls = [statementOnTheWire, ...raw, ...viaRepository]
          const slowest = Math.max(...calls.map((outcome) => outcome.elapsedMs))
          console.info(
            `freeze: ${calls.length} calls ended within ${slowest} ms (bound ${ACQUIRE_TIMEOUT_MS + QUERY_TIMEOUT_MS} ms); ` +
              `the transaction on the wire in ${transactionOnTheWire.elapsedMs} ms (bound ${ACQUIRE_TIMEOUT_MS + 2 * QUERY_TIMEOUT_MS} ms, ROLLBACK included); ` +
              `health answered in ${healthOutcome.elapsedMs} ms`
          )
          const transactionError = Exit.isFailure(transactionOnTheWire.exit)
            ? transactionOnTheWire.exit.cause.reasons[0]
            : undefined
          assert.strictEqual(
            transactionError?._tag === "Fail"
              ? (transactionError.error as { _tag: string })._tag
              : transactionError?._tag,
            "DatabaseUnavailable"
          )
          assert.isBelow(transactionOnTheWire.elapsedMs, BOUND_MS + QUERY_TIMEOUT_MS)
          for (const { exit, elapsedMs } of [statementOnTheWire, ...raw]) {
            assert.isTrue(Exit.isFailure(exit), "a statement succeeded against a frozen server")
            const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
            const failure = error !== undefined && error._tag === "Fail" ? error.error : undefined
            assert.isTrue(SqlError.isSqlError(failure) && isTransientSqlError(failure), String(failure))
            assert.isBelow(elapsedMs, BOUND_MS)
          }
          for (const { exit, elapsedMs } of viaRepository) {
            assert.isTrue(Exit.isFailure(exit))
            const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
            assert.strictEqual(
              error?._tag === "Fail" ? (error.error as { _tag: string })._tag : error?._tag,
              "DatabaseUnavailable"
            )
            assert.isBelow(elapsedMs, BOUND_MS)
          }
          assert.isTrue(Exit.isSuccess(healthOutcome.exit))
          if (Exit.isSuccess(healthOutcome.exit)) assert.strictEqual(healthOutcome.exit.value.status, "down")
          assert.isBelow(healthOutcome.elapsedMs, HEALTH_TIMEOUT_MS + SLACK_MS)

          // Continued: the same layer serves again (its stale connections are replaced on the way).
          const recovered = yield* users
            .findById(user.id)
            .pipe(Effect.retry({ times: 40, schedule: Schedule.spaced("250 millis") }))
          assert.strictEqual(recovered.id, user.id)
          assert.strictEqual((yield* health.check).status, "up")
        }).pipe(Effect.scoped),
      { timeout: 120_000 }
    )
  }
)
