/**
 * Read replicas and read-your-writes against real servers started here: a primary and a streaming standby
 * (`pg_basebackup -R`). The standby's replay is paused to make it lag on purpose: a read that must see a
 * write then waits for it (bounded) and goes to the primary; a read with nothing to wait for is served by
 * the replica, stale as it is; pg_stat_activity on each server shows where the sessions are.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as PlatformKernel from "../../../src/Database/PlatformKernel.ts"
import { Transactions } from "../../../src/Database/Repositories/Transactions.ts"
import { UserRepository } from "../../../src/Database/Repositories/UserRepository.ts"
import { ReadReplicas } from "../../../src/Database/Topology/ReadReplicas.ts"
import * as ReadYourWrites from "../../../src/Database/Topology/ReadYourWrites.ts"
import { makeHash } from "../../Contract/Fixtures.ts"
import { sessionsOn, setReplayPaused } from "../../support/Replication.ts"
import {
  makeThrowawayPostgres,
  type ThrowawayPostgres,
  type ThrowawayServer,
  throwawayPostgresUnavailable
} from "../../support/ThrowawayPostgres.ts"

const unavailable = await throwawayPostgresUnavailable({ tls: false })
if (unavailable !== undefined) console.warn(`read replica tests skipped: ${unavailable}`)

const APP = "pk-replica-test"

describe.skipIf(unavailable !== undefined)(
  `read replicas and read-your-writes${unavailable === undefined ? "" : ` (skipped: ${unavailable})`}`,
  () => {
    let servers: ThrowawayPostgres
    let primary: ThrowawayServer
    let standby: ThrowawayServer
    beforeAll(async () => {
      servers = await makeThrowawayPostgres({ tls: false })
      primary = await servers.start({ tls: false })
      standby = await servers.startStandby(primary)
    }, 120_000)
    afterAll(() => servers?.close())

    /** A kernel whose lag-tolerant reads go to the standby; `use` runs with its services. */
    const withKernel = <A, E>(use: (services: Context.Context<PlatformKernel.Services>) => Effect.Effect<A, E>) =>
      Effect.scoped(
        Effect.gen(function* () {
          const env = {
            DATABASE_URL: primary.url(),
            DATABASE_REPLICAS_URL: standby.url(),
            DATABASE_READ_FROM: "replicas",
            DATABASE_READ_YOUR_WRITES_TIMEOUT: "300 millis",
            DATABASE_APPLICATION_NAME: APP,
            DATABASE_POOL_MIN_CONNECTIONS: "0",
            LOG_LEVEL: "warn",
            TELEMETRY_METRICS_ENABLED: "false"
          }
          const services = yield* Layer.build(PlatformKernel.layerWith({ config: { env }, telemetry: false }))
          return yield* use(services)
        })
      )

    const pauseReplay = (paused: boolean) => setReplayPaused(standby, paused)

    it.live("reads reach the replica (its sessions in pg_stat_activity); writes and transactions the primary", () =>
      withKernel((services) =>
        Effect.gen(function* () {
          const users = Context.get(services, UserRepository)
          const replicas = Context.get(services, ReadReplicas)
          const user = yield* users.create({ email: `reach-${Date.now()}@example.com`, passwordHash: makeHash() })
          for (let i = 0; i < 20; i++) yield* users.findById(user.id)
          assert.isAtLeast(yield* sessionsOn(standby, `${APP}-replica`), 1)
          assert.strictEqual(yield* sessionsOn(primary, `${APP}-replica`), 0)
          assert.strictEqual(yield* sessionsOn(standby, APP), 0, "no session of the write pool on the standby")
          assert.isAtLeast(replicas.served.replica, 20)
        })
      ).pipe(
        // Closed with the kernel: no session of the replica pool or of the host checks is left anywhere.
        Effect.andThen(
          Effect.gen(function* () {
            for (const server of [primary, standby]) {
              for (const name of [`${APP}-replica`, `${APP}-topology`, APP]) {
                assert.strictEqual(yield* sessionsOn(server, name), 0, `${name} on ${server.port}`)
              }
            }
          })
        )
      )
    )

    it.live("read-your-writes: a read after a write waits for the replica, or reads the primary", () =>
      withKernel((services) =>
        Effect.gen(function* () {
          const users = Context.get(services, UserRepository)
          const transactions = Context.get(services, Transactions)
          const replicas = Context.get(services, ReadReplicas)
          yield* pauseReplay(true)
          try {
            // In a session of its own: the write's position is the session's.
            const handedOn = yield* Effect.gen(function* () {
              const user = yield* users.create({ email: `ryw-${Date.now()}@example.com`, passwordHash: makeHash() })
              const position = yield* ReadYourWrites.currentPosition
              assert.isDefined(position)
              const before = replicas.served.primary
              const found = yield* users.findById(user.id)
              assert.strictEqual(found.id, user.id)
              assert.strictEqual(replicas.served.primary, before + 1, "served by the primary: the replica is paused")
              return { user, position: position! }
            }).pipe(ReadYourWrites.session())

            // Another session that knows nothing of the write reads the paused replica: not there yet.
            const stale = yield* Effect.exit(users.findById(handedOn.user.id).pipe(ReadYourWrites.session()))
            assert.isTrue(Exit.isFailure(stale), "the lagging replica does not have the row")

            // Handed on (as a header would carry it), the position makes the other session's read see it.
            const seen = yield* users.findById(handedOn.user.id).pipe(ReadYourWrites.session(handedOn.position))
            assert.strictEqual(seen.id, handedOn.user.id)

            // In a transaction everything is on the primary, whatever the replica has.
            const inTransaction = yield* transactions.withTransaction(
              Effect.gen(function* () {
                const user = yield* users.create({ email: `tx-${Date.now()}@example.com`, passwordHash: makeHash() })
                return yield* users.findById(user.id)
              })
            )
            assert.isDefined(inTransaction.id)

            // A position that is not a pg_lsn is refused, typed.
            const bad = yield* Effect.exit(users.findById(handedOn.user.id).pipe(ReadYourWrites.session("nope")))
            assert.isTrue(Exit.isFailure(bad))
          } finally {
            yield* pauseReplay(false)
          }
          // Once replayed, the replica serves the session's reads again.
          const after = yield* Effect.gen(function* () {
            const user = yield* users.create({ email: `caught-${Date.now()}@example.com`, passwordHash: makeHash() })
            const before = replicas.served.replica
            yield* users.findById(user.id)
            return replicas.served.replica - before
          }).pipe(ReadYourWrites.session())
          assert.strictEqual(after, 1)
        })
      )
    )
  }
)
