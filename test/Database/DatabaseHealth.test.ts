import { createServer, type Socket } from "node:net"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { AppConfig } from "../../src/Config/AppConfig.ts"
import * as DatabaseClient from "../../src/Database/Client/DatabaseClient.ts"
import { DatabaseTarget } from "../../src/Database/Client/DatabaseTarget.ts"
import * as Database from "../../src/Database/Database.ts"
import { DatabaseHealth } from "../../src/Database/Health/DatabaseHealth.ts"
import { freePort } from "../support/freePort.ts"
import { scopedDatabase, TestDatabaseLayer, testConfig } from "../support/TestDatabase.ts"

const HEALTH_TIMEOUT_MS = 500
// The check must answer within its timeout; the margin covers building the layer and a slow CI machine.
const BOUND_MS = 3_000

/** DatabaseHealth for `url` through the client that does not wait for the server, as `health` builds it. */
const healthWithoutWaiting = (url: string) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const config = yield* testConfig({
        DATABASE_URL: url,
        DATABASE_HEALTH_TIMEOUT: `${HEALTH_TIMEOUT_MS} millis`,
        DATABASE_POOL_MAX_CONNECTIONS: "3"
      })
      return DatabaseHealth.layer.pipe(
        Layer.provide(DatabaseClient.layerNoWait),
        Layer.provide(DatabaseTarget.layer({ embedded: "attach" })),
        Layer.provide(AppConfig.layerFrom(config))
      )
    })
  )

/** Runs one check, measuring it on the wall clock (layer build included). */
const timedCheck = (url: string) =>
  Effect.gen(function* () {
    const startedAt = Date.now()
    const report = yield* DatabaseHealth.use((health) => health.check).pipe(Effect.provide(healthWithoutWaiting(url)))
    return { report, elapsedMs: Date.now() - startedAt }
  })

/** A TCP server that accepts connections and never says a word. */
const silentServer = Effect.acquireRelease(
  Effect.promise(
    () =>
      new Promise<{ readonly port: number; readonly sockets: Array<Socket>; readonly close: () => Promise<void> }>(
        (resolve) => {
          const sockets: Array<Socket> = []
          const server = createServer((socket) => {
            sockets.push(socket)
            socket.on("error", () => {})
          })
          server.listen(0, "127.0.0.1", () => {
            const address = server.address()
            const port = typeof address === "object" && address !== null ? address.port : 0
            resolve({
              port,
              sockets,
              close: () =>
                new Promise<void>((done) => {
                  for (const socket of sockets) socket.destroy()
                  server.close(() => done())
                })
            })
          })
        }
      )
  ),
  (server) => Effect.promise(server.close)
)

// Live services: the check's timeout runs on the real clock.
layer(Layer.provideMerge(DatabaseHealth.layer, TestDatabaseLayer({ DATABASE_POOL_MAX_CONNECTIONS: "7" })), {
  timeout: "60 seconds",
  excludeTestServices: true
})("DatabaseHealth on the migrated test database", (it) => {
  it.effect("is up, with the server version, the migration state and the configured pool size", () =>
    Effect.gen(function* () {
      const health = yield* DatabaseHealth
      const config = yield* AppConfig
      const report = yield* health.check
      assert.strictEqual(report.status, "up")
      assert.isString(report.serverVersion)
      assert.match(report.serverVersion!, /^\d+(\.\d+)?/)
      assert.deepStrictEqual(report.migrations, { latest: 6, pending: 0 })
      assert.strictEqual(report.pool.max, 7)
      assert.strictEqual(report.pool.max, config.database.pool.maxConnections)
      // The check's own session is one of them.
      assert.isAtLeast(report.pool.open!, 1)
      assert.isAtMost(report.pool.open!, 7)
      assert.isAtLeast(report.pool.idle!, 0)
      assert.isUndefined(report.error)
      assert.isAtLeast(report.latencyMs, 0)
    })
  )
})

// A row stored outside every time partition, as an append would be when no partition of its time was made.
const FarFuture = new Date("2199-01-01T00:00:00Z")

layer(Layer.provideMerge(DatabaseHealth.layer, TestDatabaseLayer()), {
  timeout: "60 seconds",
  excludeTestServices: true
})("DatabaseHealth and the default audit partition", (it) => {
  it.effect("reports the rows of audit_logs_default, expected 0, without waiting for a lock on it", () =>
    Effect.gen(function* () {
      const health = yield* DatabaseHealth
      const sql = yield* SqlClient.SqlClient
      const empty = yield* health.check
      assert.deepStrictEqual(empty.auditDefaultPartition, {
        partition: "audit_logs_default",
        rows: 0,
        rowsAre: "estimate",
        expected: 0
      })
      yield* sql.withTransaction(
        Effect.gen(function* () {
          // Stored with the given time (the stamping trigger off), so it lands in the default partition.
          yield* sql`SET LOCAL session_replication_role = replica`
          yield* sql`INSERT INTO audit_logs (id, action, "timestamp")
            VALUES (gen_random_uuid(), 'iam.user.created', ${FarFuture}), (gen_random_uuid(), 'iam.user.created', ${FarFuture})`
          // This session's counters reach the statistics when it next goes idle, not up to 10 s later.
          yield* sql`SELECT pg_stat_force_next_flush()`
        })
      )
      const [stored] = yield* sql<{ readonly rows: number }>`SELECT count(*)::int AS rows FROM audit_logs_default`
      assert.strictEqual(stored!.rows, 2)
      // Held as ATTACH PARTITION holds it: a check that read the partition would wait here until its timeout.
      const report = yield* sql.withTransaction(
        Effect.andThen(sql`LOCK TABLE audit_logs_default IN ACCESS EXCLUSIVE MODE`, health.check)
      )
      assert.strictEqual(report.status, "up", report.error)
      assert.strictEqual(report.auditDefaultPartition?.rows, 2)
      assert.strictEqual(report.auditDefaultPartition?.expected, 0)
      assert.include(report.auditDefaultPartition?.action ?? "", "platform-kernel audit partitions")
    })
  )
})

describe("DatabaseHealth", () => {
  it.live("reports the pending migrations of a database that is not migrated yet", () =>
    Effect.gen(function* () {
      const database = yield* scopedDatabase({ from: "empty" })
      const config = yield* testConfig({ DATABASE_URL: database.url })
      const report = yield* DatabaseHealth.use((health) => health.check).pipe(
        Effect.provide(
          DatabaseHealth.layer.pipe(
            Layer.provideMerge(Database.layerConnection),
            Layer.provide(AppConfig.layerFrom(config))
          )
        )
      )
      assert.strictEqual(report.status, "up")
      assert.deepStrictEqual(report.migrations, { latest: null, pending: 6 })
      assert.isUndefined(report.auditDefaultPartition)
    }).pipe(Effect.scoped)
  )

  it.live("is down, without failing, when nothing listens on the port", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const { report, elapsedMs } = yield* timedCheck(`postgres://postgres:pw@127.0.0.1:${port}/nowhere`)
      assert.strictEqual(report.status, "down")
      assert.isString(report.error)
      assert.include(report.error!, "ECONNREFUSED")
      assert.isNull(report.serverVersion)
      assert.isNull(report.migrations)
      assert.deepStrictEqual(report.pool, { max: 3, open: null, idle: null })
      assert.isBelow(elapsedMs, BOUND_MS)
    })
  )

  it.live("is down within its timeout when the server accepts the connection but never answers", () =>
    Effect.gen(function* () {
      const server = yield* silentServer
      const { report, elapsedMs } = yield* timedCheck(`postgres://postgres:pw@127.0.0.1:${server.port}/silent`)
      assert.strictEqual(report.status, "down")
      assert.include(report.error!, `no answer within ${HEALTH_TIMEOUT_MS}ms`)
      assert.isAtLeast(server.sockets.length, 1, "the client never connected to the silent server")
      assert.isAtLeast(report.latencyMs, HEALTH_TIMEOUT_MS - 50)
      assert.isBelow(elapsedMs, BOUND_MS)
    }).pipe(Effect.scoped)
  )
})
