/**
 * Several hosts with libpq's meaning, against real servers started here: a primary and a streaming standby of
 * it (`pg_basebackup -R`), and a second, unrelated primary. The write pool must land on a server that takes
 * writes whatever the order of the hosts, and follow a failover (the primary gone, the standby promoted) or a
 * server turned read-only (SQLSTATE 25006) without a restart.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Metric, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll } from "vitest"
import { AppConfig } from "../../../src/Config/AppConfig.ts"
import * as DatabaseClient from "../../../src/Database/Client/DatabaseClient.ts"
import { DatabaseTarget } from "../../../src/Database/Client/DatabaseTarget.ts"
import { DatabaseHealth } from "../../../src/Database/Health/DatabaseHealth.ts"
import { testConfig } from "../../support/TestDatabase.ts"
import {
  makeThrowawayPostgres,
  PASSWORD,
  SUPERUSER,
  type ThrowawayPostgres,
  type ThrowawayServer,
  throwawayPostgresUnavailable
} from "../../support/ThrowawayPostgres.ts"

const unavailable = await throwawayPostgresUnavailable({ tls: false })
if (unavailable !== undefined) console.warn(`multi-host tests skipped: ${unavailable}`)

const hostsUrl = (servers: ReadonlyArray<ThrowawayServer>, params: Record<string, string> = {}) => {
  const query = new URLSearchParams(params).toString()
  return `postgres://${SUPERUSER}:${PASSWORD}@${servers.map((s) => `localhost:${s.port}`).join(",")}/postgres${query === "" ? "" : `?${query}`}`
}

/** The library's client for `env` (the startup check included), used by `use` within one scope. */
const withClient = <A, E>(env: Record<string, string>, use: (sql: SqlClient.SqlClient) => Effect.Effect<A, E>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const config = yield* testConfig({ DATABASE_STARTUP_TIMEOUT: "20 seconds", ...env })
      const services = yield* Layer.build(
        DatabaseClient.layer.pipe(
          Layer.provideMerge(DatabaseTarget.layer({ embedded: "attach" })),
          Layer.provide(AppConfig.layerFrom(config))
        )
      )
      return yield* use(Context.get(services, SqlClient.SqlClient))
    })
  )

const serverPort = (sql: SqlClient.SqlClient) =>
  Effect.map(sql<{ readonly port: number }>`SELECT inet_server_port() AS port`, (rows) => rows[0]!.port)

const writeOn = (sql: SqlClient.SqlClient, n: number) =>
  Effect.map(
    sql<{ readonly port: number }>`INSERT INTO topology_probe VALUES (${n}) RETURNING inet_server_port() AS port`,
    (rows) => rows[0]!.port
  )

describe.skipIf(unavailable !== undefined)(
  `several hosts against real servers${unavailable === undefined ? "" : ` (skipped: ${unavailable})`}`,
  () => {
    let servers: ThrowawayPostgres
    let primary: ThrowawayServer
    let standby: ThrowawayServer
    let other: ThrowawayServer
    beforeAll(async () => {
      servers = await makeThrowawayPostgres({ tls: false })
      primary = await servers.start({ tls: false })
      standby = await servers.startStandby(primary)
      other = await servers.start({ tls: false })
    }, 120_000)
    afterAll(() => servers?.close())

    it.live("the write pool connects to the primary whatever the order of the hosts", () =>
      Effect.gen(function* () {
        for (const order of [
          [standby, primary],
          [primary, standby]
        ]) {
          const port = yield* withClient({ DATABASE_URL: hostsUrl(order) }, (sql) =>
            Effect.gen(function* () {
              yield* sql`CREATE TABLE IF NOT EXISTS topology_probe (n int)`
              yield* sql`INSERT INTO topology_probe VALUES (1)`
              return yield* serverPort(sql)
            })
          )
          assert.strictEqual(port, primary.port)
        }
        // The same from database.host/database.port lists.
        const fromLists = yield* withClient(
          {
            DATABASE_HOST: "localhost,localhost",
            DATABASE_PORT: `${standby.port},${primary.port}`,
            DATABASE_PASSWORD: PASSWORD
          },
          serverPort
        )
        assert.strictEqual(fromLists, primary.port)
      })
    )

    it.live("standby and prefer-standby pick the standby; read-only on a primary is refused by read-write", () =>
      Effect.gen(function* () {
        const onStandby = (attrs: string) =>
          withClient({ DATABASE_URL: hostsUrl([primary, standby], { target_session_attrs: attrs }) }, (sql) =>
            Effect.map(sql<{ readonly r: boolean }>`SELECT pg_is_in_recovery() AS r`, (rows) => rows[0]!.r)
          )
        assert.isTrue(yield* onStandby("standby"))
        assert.isTrue(yield* onStandby("prefer-standby"))
        assert.isTrue(yield* onStandby("read-only"))
        assert.isFalse(yield* onStandby("primary"))
        // No host matches: startup fails in one line naming each host's role, never the password.
        const refused = yield* Effect.exit(
          withClient(
            {
              DATABASE_URL: hostsUrl([standby], { target_session_attrs: "read-write" }),
              DATABASE_STARTUP_TIMEOUT: "1 second"
            },
            serverPort
          )
        )
        assert.isTrue(refused._tag === "Failure")
        const message = String(refused._tag === "Failure" ? refused.cause : "")
        assert.match(message, /no host matches target_session_attrs=read-write/)
        assert.notInclude(message, PASSWORD)
      })
    )

    it.live("the health report names the primary and each standby's lag", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const config = yield* testConfig({
            DATABASE_URL: hostsUrl([standby, primary]),
            DATABASE_REPLICAS_URL: hostsUrl([standby]),
            DATABASE_READ_FROM: "replicas"
          })
          const services = yield* Layer.build(
            DatabaseHealth.layer.pipe(
              Layer.provide(DatabaseTarget.layer({ embedded: "attach" })),
              Layer.provide(AppConfig.layerFrom(config))
            )
          )
          const report = yield* Context.get(services, DatabaseHealth).check
          assert.strictEqual(report.status, "up", report.error)
          const topology = report.topology!
          assert.strictEqual(topology.primary, `localhost:${primary.port}`)
          const standbyHosts = topology.hosts.filter((host) => host.address === `localhost:${standby.port}`)
          assert.deepStrictEqual(
            standbyHosts.map((host) => [host.pool, host.role]),
            [
              ["primary", "standby"],
              ["replicas", "standby"]
            ]
          )
          for (const host of standbyHosts) {
            assert.isNumber(host.lagBytes)
            assert.isAtLeast(host.lagBytes!, 0)
          }
          const primaryHost = topology.hosts.find((host) => host.address === `localhost:${primary.port}`)!
          assert.deepStrictEqual([primaryHost.role, primaryHost.lagBytes], ["primary", 0])
          // The same as gauges, labelled with the host, its pool and its role.
          const snapshots = yield* Metric.snapshot
          const lag = snapshots.find(
            (snapshot) =>
              snapshot.id === "platform_kernel.database.host.lag" &&
              snapshot.attributes?.["server.address"] === `localhost:${standby.port}` &&
              snapshot.attributes?.["db.client.connection.pool.name"] === "replicas"
          )
          assert.isDefined(lag, "a lag gauge for the standby in the replicas' pool")
          assert.strictEqual(lag!.attributes?.["platform_kernel.host.role"], "standby")
          assert.strictEqual((lag!.state as Metric.GaugeState<number>).value, standbyHosts[1]!.lagBytes)
        })
      )
    )

    it.live("a write refused as read-only (25006) sends the pool to another host, with no restart", () =>
      withClient({ DATABASE_URL: hostsUrl([other, primary]), DATABASE_POOL_MAX_CONNECTIONS: "2" }, (sql) =>
        Effect.gen(function* () {
          yield* sql`CREATE TABLE IF NOT EXISTS topology_probe (n int)`
          assert.strictEqual(yield* serverPort(sql), other.port)
          // The server the pool is on turns read-only for every transaction, its sessions included.
          yield* Effect.promise(() =>
            other.psql("ALTER SYSTEM SET default_transaction_read_only = on", "SELECT pg_reload_conf()")
          )
          const failures: Array<string> = []
          // The write reports the server it ran on (a read on a session opened before could still be on the other).
          const port = yield* writeOn(sql, 2).pipe(
            Effect.tapError((error) => Effect.sync(() => failures.push(String(error.reason._tag)))),
            Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 20 })
          )
          assert.strictEqual(port, primary.port)
          assert.isAtLeast(failures.length, 1, "the first write met the read-only server")
          yield* Effect.promise(() =>
            other.psql("ALTER SYSTEM RESET default_transaction_read_only", "SELECT pg_reload_conf()")
          )
        })
      )
    )

    it.live("a failover (primary killed, standby promoted) is followed by the connections opened after it", () =>
      withClient({ DATABASE_URL: hostsUrl([primary, standby]) }, (sql) =>
        Effect.gen(function* () {
          assert.strictEqual(yield* serverPort(sql), primary.port)
          yield* Effect.promise(() => primary.kill())
          yield* Effect.promise(() => standby.promote())
          const port = yield* writeOn(sql, 3).pipe(Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 50 }))
          assert.strictEqual(port, standby.port)
        })
      )
    )
  }
)
