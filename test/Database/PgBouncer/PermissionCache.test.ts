/**
 * The permission cache behind a real PgBouncer in transaction mode, revoked by another client straight on the
 * server: without a direct LISTEN target it serves nothing (every check asks the database, so nothing is
 * stale); with `database.permissionCache.listenUrl` it serves from memory and sees each revocation; and a
 * cache made to LISTEN through the pooler, whose session cannot hear its own notification, never serves.
 */
import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Logger, Metric, Redacted } from "effect"
import { AppConfig } from "../../../src/Config/AppConfig.ts"
import type { ConfigLoadError } from "../../../src/Config/ConfigError.ts"
import type { AppConfigValues } from "../../../src/Config/ConfigSchema.ts"
import { cacheHits, LISTENER_SUFFIX, PermissionCache } from "../../../src/Database/Access/PermissionCache.ts"
import * as Database from "../../../src/Database/Database.ts"
import type { DatabaseMigrations } from "../../../src/Database/Migrations/DatabaseMigrations.ts"
import type { PermissionRepository } from "../../../src/Database/Repositories/PermissionRepository.ts"
import type { RoleRepository } from "../../../src/Database/Repositories/RoleRepository.ts"
import { UserRepository } from "../../../src/Database/Repositories/UserRepository.ts"
import * as RepositoryLayers from "../../../src/Database/RepositoryLayers.ts"
import { newPermission, newRole, newUser } from "../../Contract/Fixtures.ts"
import { withAdmin } from "../../support/adminClient.ts"
import { pgBouncerUnavailable, startPgBouncer } from "../../support/PgBouncer.ts"
import { adminUrl, scopedDatabase, testConfig } from "../../support/TestDatabase.ts"

const unavailable = pgBouncerUnavailable()
if (unavailable !== undefined) console.warn(`PgBouncer permission cache tests skipped: ${unavailable}`)

const REVOCATIONS = 200
// How long a grant or revocation may take to be seen before the test calls it missed (not a speed assertion).
const SEEN_WITHIN_MS = 5_000

const hits = Effect.map(Metric.value(cacheHits), (state) => state.count)

/** The repositories with the cache as `cache` builds it, on `config`; warnings collected in `warnings`. */
const kernel = (
  config: AppConfigValues,
  cache: Layer.Layer<PermissionCache, ConfigLoadError, PgClient.PgClient | DatabaseMigrations | AppConfig>,
  warnings: Array<string>
) => {
  const capture = Logger.make(({ logLevel, message }) => {
    if (logLevel === "Warn") warnings.push([message].flat().map(String).join(" "))
  })
  return Layer.build(
    RepositoryLayers.layer.pipe(
      Layer.provideMerge(cache),
      Layer.provideMerge(Database.layer),
      Layer.provideMerge(AppConfig.layerFrom(config))
    )
  ).pipe(Effect.orDie, Effect.provide(Logger.layer([capture])))
}

/** A client of its own straight to the server (not through the bouncer): another process's writes. */
const otherClient = (url: string) =>
  Effect.map(
    Layer.build(PgClient.layer({ url: Redacted.make(url), maxConnections: 1, applicationName: "pk-test-revoker" })),
    (context) => Context.get(context, PgClient.PgClient)
  )

/** Runs `check` until it answers `expected` (at most `SEEN_WITHIN_MS`); returns how many answers were not. */
const untilAnswered = (check: Effect.Effect<boolean, unknown>, expected: boolean, what: string) =>
  Effect.gen(function* () {
    const startedAt = performance.now()
    let otherAnswers = 0
    while ((yield* check) !== expected) {
      otherAnswers++
      assert.isBelow(performance.now() - startedAt, SEEN_WITHIN_MS, `${what} never seen`)
      // A timer, not a bare yield: the notification comes in through the event loop, which must get a turn.
      yield* Effect.sleep("1 millis")
    }
    return otherAnswers
  })

interface RevocationFigures {
  /** Checks answered `true` after the revocation had committed. */
  readonly stale: number
  /** Per revocation, how long after its commit the first `false` came (ms). */
  readonly seenAfterMs: ReadonlyArray<number>
  /** Cache hits over the whole run. */
  readonly hits: number
}

/**
 * `REVOCATIONS` rounds on one user and permission: the other client grants it, the checks see it (twice, so
 * a cache that serves keeps it), the other client revokes it, then checks run until one says false. Every
 * `true` answered after the revocation's COMMIT returned is stale.
 */
const revocationRounds = (
  services: Context.Context<UserRepository | RoleRepository | PermissionRepository>,
  other: PgClient.PgClient
) =>
  Effect.gen(function* () {
    const users = Context.get(services, UserRepository)
    const { user, role, permission } = yield* Effect.gen(function* () {
      const user = yield* newUser()
      const role = yield* newRole()
      const permission = yield* newPermission()
      yield* users.assignRole(user.id, role.id)
      return { user, role, permission }
    }).pipe(Effect.provide(services))
    const check = users.hasPermission(user.id, permission.name)
    const hitsBefore = yield* hits
    let stale = 0
    const seenAfterMs: Array<number> = []
    for (let round = 0; round < REVOCATIONS; round++) {
      yield* other`INSERT INTO role_permissions (role_id, permission_id) VALUES (${role.id}, ${permission.id})`
      yield* untilAnswered(check, true, `grant ${round}`)
      assert.isTrue(yield* check)
      yield* other`DELETE FROM role_permissions WHERE role_id = ${role.id} AND permission_id = ${permission.id}`
      const committedAt = performance.now()
      stale += yield* untilAnswered(check, false, `revocation ${round}`)
      seenAfterMs.push(performance.now() - committedAt)
    }
    return { stale, seenAfterMs, hits: (yield* hits) - hitsBefore } satisfies RevocationFigures
  })

const percentile = (values: ReadonlyArray<number>, p: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

const describeFigures = (label: string, figures: RevocationFigures) =>
  `${label}: ${figures.stale} stale answers of ${REVOCATIONS} revocations, ${figures.hits} cache hits, ` +
  `revocation seen after p50 ${percentile(figures.seenAfterMs, 50).toFixed(2)} ms, ` +
  `p99 ${percentile(figures.seenAfterMs, 99).toFixed(2)} ms, max ${Math.max(...figures.seenAfterMs).toFixed(2)} ms`

/** Server sessions whose process id is `pid` and whose application_name is `name`, seen by the server itself. */
const serverSessionsWith = (pid: number, name: string) =>
  withAdmin(adminUrl(), (admin) =>
    admin<{ readonly count: number }>`SELECT count(*)::int AS count FROM pg_stat_activity
      WHERE pid = ${pid} AND application_name = ${name}`.pipe(Effect.map((rows) => rows[0]!.count))
  ).pipe(Effect.orDie)

describe.skipIf(unavailable !== undefined)(
  `permission cache behind PgBouncer in transaction mode${unavailable === undefined ? "" : ` (skipped: ${unavailable})`}`,
  () => {
    it.live(
      `without a direct target it is off: 0 stale answers across ${REVOCATIONS} revocations by another client`,
      () =>
        Effect.gen(function* () {
          const database = yield* scopedDatabase({ from: "template" })
          const bouncer = yield* startPgBouncer({ upstreamUrl: adminUrl() })
          const config = yield* testConfig({ DATABASE_URL: bouncer.url(database.name), DATABASE_PGBOUNCER: "true" })
          const services = yield* kernel(config, PermissionCache.layer, [])
          const status = yield* Context.get(services, PermissionCache).status
          assert.isFalse(status.enabled)
          const figures = yield* revocationRounds(services, yield* otherClient(database.url))
          console.info(describeFigures("through PgBouncer, no listenUrl", figures))
          assert.strictEqual(figures.stale, 0, "a check after a revocation's commit answered true")
          assert.strictEqual(figures.hits, 0)
        }).pipe(Effect.scoped),
      { timeout: 120_000 }
    )

    it.live(
      `with database.permissionCache.listenUrl it serves from memory and sees each of ${REVOCATIONS} revocations`,
      () =>
        Effect.gen(function* () {
          const database = yield* scopedDatabase({ from: "template" })
          const bouncer = yield* startPgBouncer({ upstreamUrl: adminUrl() })
          const name = `pk-listen-${Math.random().toString(36).slice(2, 8)}`
          const config = yield* testConfig({
            DATABASE_URL: bouncer.url(database.name),
            DATABASE_PGBOUNCER: "true",
            DATABASE_APPLICATION_NAME: name,
            DATABASE_PERMISSION_CACHE_LISTEN_URL: database.url
          })
          const warnings: Array<string> = []
          const services = yield* kernel(config, PermissionCache.layer, warnings)
          const status = yield* Context.get(services, PermissionCache).status
          assert.isTrue(status.enabled && status.listening, JSON.stringify({ ...status, version: undefined }))
          // The listening session is on the server itself: the process id it was given is a real backend's.
          assert.strictEqual(yield* serverSessionsWith(status.listenerProcessId!, `${name}${LISTENER_SUFFIX}`), 1)
          const figures = yield* revocationRounds(services, yield* otherClient(database.url))
          console.info(describeFigures("through PgBouncer, listenUrl straight to the server", figures))
          assert.strictEqual(figures.seenAfterMs.length, REVOCATIONS, "every revocation was seen")
          assert.isAtLeast(figures.hits, REVOCATIONS, "answered from memory")
          assert.deepStrictEqual(warnings, [])
        }).pipe(Effect.scoped),
      { timeout: 120_000 }
    )

    it.live(
      "LISTEN forced through the pooler: the session never hears its own notification, so the cache never serves",
      () =>
        Effect.gen(function* () {
          const database = yield* scopedDatabase({ from: "template" })
          const bouncer = yield* startPgBouncer({ upstreamUrl: adminUrl() })
          const config = yield* testConfig({ DATABASE_URL: bouncer.url(database.name), DATABASE_PGBOUNCER: "true" })
          const warnings: Array<string> = []
          // layerWith takes no notice of database.pgbouncer: the session LISTENs through the bouncer.
          const services = yield* kernel(
            config,
            PermissionCache.layerWith({ enabled: true, maxUsers: 1000, maxReconnectDelay: "500 millis" }),
            warnings
          )
          const cache = Context.get(services, PermissionCache)
          assert.isFalse((yield* cache.status).listening, "serving from a session that cannot hear")
          const figures = yield* revocationRounds(services, yield* otherClient(database.url))
          console.info(describeFigures("LISTEN forced through PgBouncer", figures))
          assert.strictEqual(figures.stale, 0, "a check after a revocation's commit answered true")
          assert.strictEqual(figures.hits, 0, "nothing answered from memory")
          const status = yield* cache.status
          assert.isTrue(status.enabled && !status.listening)
          // Given up with one warning, however many attempts were made meanwhile.
          const notHearing = warnings.filter((line) => line.includes("does not hear notifications"))
          assert.strictEqual(notHearing.length, 1, warnings.join("\n"))
        }).pipe(Effect.scoped),
      { timeout: 120_000 }
    )
  }
)
