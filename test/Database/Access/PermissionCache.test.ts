/**
 * The permission cache on a real PostgreSQL: answers kept only while provably current. Each kind of change
 * (through the repositories: seen by the next check; by another client: seen once notified), the
 * notification connection killed mid-run (checks go to the database while it is down, then it reconnects),
 * transactions (never served or kept from inside one), two instances, and no session left after the scope.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Logger, Metric, Redacted, Scope } from "effect"
import { SqlClient, Statement } from "effect/sql"
import { AppConfig } from "../../../src/Config/AppConfig.ts"
import {
  cacheBypasses,
  cacheHits,
  LISTENER_SUFFIX,
  PermissionCache
} from "../../../src/Database/Access/PermissionCache.ts"
import * as Database from "../../../src/Database/Database.ts"
import { PermissionRepository } from "../../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../../src/Database/Repositories/RoleRepository.ts"
import { Transactions } from "../../../src/Database/Repositories/Transactions.ts"
import { UserRepository } from "../../../src/Database/Repositories/UserRepository.ts"
import * as RepositoryLayers from "../../../src/Database/RepositoryLayers.ts"
import type { PermissionName, UserId } from "../../../src/Domain/index.ts"
import { grantedUser, newPermission, newRole } from "../../Contract/Fixtures.ts"
import { withAdmin } from "../../support/adminClient.ts"
import { type Deafness, deafenableSocket } from "../../support/DeafSocket.ts"
import { eventually } from "../../support/Eventually.ts"
import { CachedRepositoriesTestLayer } from "../../support/RepositoriesTestLayer.ts"
import { sessionsNamed } from "../../support/Sessions.ts"
import { recordingTracer } from "../../support/SpanRecorder.ts"
import { adminUrl, scopedDatabase, testConfig } from "../../support/TestDatabase.ts"

const hits = Effect.map(Metric.value(cacheHits), (state) => state.count)
const bypasses = Effect.map(Metric.value(cacheBypasses), (state) => state.count)

/** `check` answered `expected`, and from the cache: the hit counter moved. */
const expectHit = <E, R>(check: Effect.Effect<boolean, E, R>, expected: boolean) =>
  Effect.gen(function* () {
    const before = yield* hits
    assert.strictEqual(yield* check, expected)
    assert.strictEqual(yield* hits, before + 1, "answered from the cache")
  })

/** Runs `statement` on a connection of its own to the database under test: another client, not the repositories. */
const otherClient = (statement: string, params: ReadonlyArray<unknown> = []) =>
  Effect.gen(function* () {
    const { database } = yield* AppConfig
    return yield* withAdmin(Redacted.value(database.url), (client) => client.unsafe(statement, params))
  }).pipe(Effect.orDie)

const currentVersion = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(sql<{ readonly version: string }>`SELECT version::text AS version FROM permission_version`, (rows) =>
    BigInt(rows[0]!.version)
  )
).pipe(Effect.orDie)

layer(CachedRepositoriesTestLayer(), { excludeTestServices: true, timeout: "60 seconds" })("permission cache", (it) => {
  it.effect("is listening, answers a repeated check from the cache, and answers what the database says", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      const cache = yield* PermissionCache
      const status = yield* cache.status
      assert.isTrue(status.enabled && status.listening)
      assert.strictEqual(status.version, yield* currentVersion)
      const { user, permission } = yield* grantedUser
      const other = yield* newPermission()
      assert.isTrue(yield* users.hasPermission(user.id, permission.name))
      yield* expectHit(users.hasPermission(user.id, permission.name), true)
      // The user's whole set is kept: a denied permission is answered from it too.
      yield* expectHit(users.hasPermission(user.id, other.name), false)
    })
  )

  // Issue 18: a hit is answered in one step, from the arguments as given; what the front checks still holds.
  it.effect("a hit keeps the method's span; arguments a hit cannot vouch for are checked as without the cache", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      const { user, permission } = yield* grantedUser
      assert.isTrue(yield* users.hasPermission(user.id, permission.name))
      const { spans, tracer } = recordingTracer()
      yield* expectHit(Effect.withTracer(users.hasPermission(user.id, permission.name), tracer), true)
      const [span, ...others] = spans
      assert.lengthOf(others, 0)
      assert.strictEqual(span?.name, "UserRepository.hasPermission")
      assert.isTrue(span?.status._tag === "Ended" && Exit.isSuccess(span.status.exit) && span.status.exit.value)
      // An id in upper case names the same user (answered from the cache too).
      yield* expectHit(users.hasPermission(user.id.toUpperCase() as UserId, permission.name), true)
      // A malformed name, or an id that is not a string, is refused as without the cache.
      for (const [id, name, field] of [
        [user.id, "Not A Name", "permission"],
        [user.id, 42, "permission"],
        [42, permission.name, "userId"]
      ] as const) {
        const error = yield* Effect.flip(users.hasPermission(id as never, name as never))
        assert.strictEqual(error._tag, "InvalidInput")
        assert.strictEqual(error._tag === "InvalidInput" && error.field, field)
      }
      // A well-formed name the user does not hold, and an id no user has: denied.
      yield* expectHit(users.hasPermission(user.id, "no.such.permission" as PermissionName), false)
      assert.isFalse(yield* users.hasPermission("not-an-id" as UserId, permission.name))
    })
  )

  it.effect("a change through the repositories is seen by the very next check, for each kind of change", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      const roles = yield* RoleRepository
      const permissions = yield* PermissionRepository
      const changes = [
        ["user's role removed", ({ user, role }) => users.removeRole(user.id, role.id)],
        ["role's permission revoked", ({ role, permission }) => roles.revoke(role.id, permission.id)],
        ["role deleted", ({ role }) => roles.delete(role.id)],
        ["permission deleted", ({ permission }) => permissions.delete(permission.id)],
        ["user deleted", ({ user }) => users.delete(user.id)]
      ] as const satisfies ReadonlyArray<
        readonly [string, (granted: Effect.Success<typeof grantedUser>) => Effect.Effect<void, unknown>]
      >
      for (const [label, change] of changes) {
        const granted = yield* grantedUser
        assert.isTrue(yield* users.hasPermission(granted.user.id, granted.permission.name), label)
        yield* expectHit(users.hasPermission(granted.user.id, granted.permission.name), true)
        yield* change(granted)
        assert.isFalse(yield* users.hasPermission(granted.user.id, granted.permission.name), label)
      }
      // And a grant is seen at once as well.
      const { user } = yield* grantedUser
      const role = yield* newRole()
      const permission = yield* newPermission()
      yield* roles.grant(role.id, permission.id)
      assert.isFalse(yield* users.hasPermission(user.id, permission.name))
      yield* users.assignRole(user.id, role.id)
      assert.isTrue(yield* users.hasPermission(user.id, permission.name))
    })
  )

  it.effect("a change committed by another client (raw SQL) is seen once notified, and raises the version", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      const cache = yield* PermissionCache
      const { user, role, permission } = yield* grantedUser
      assert.isTrue(yield* users.hasPermission(user.id, permission.name))
      yield* expectHit(users.hasPermission(user.id, permission.name), true)
      const before = yield* currentVersion
      yield* otherClient("DELETE FROM role_permissions WHERE role_id = $1 AND permission_id = $2", [
        role.id,
        permission.id
      ])
      const after = yield* currentVersion
      assert.isTrue(after > before, "the change raised the version")
      const status = yield* eventually(cache.status, (s) => s.version !== undefined && s.version >= after)
      assert.strictEqual(status.version, after, "the notification carried the new version")
      assert.isFalse(yield* users.hasPermission(user.id, permission.name))
      yield* expectHit(users.hasPermission(user.id, permission.name), false)
    })
  )

  it.effect(
    "under checks racing changes by another client, nothing stale is kept once the last change is notified",
    () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const cache = yield* PermissionCache
        const sql = yield* SqlClient.SqlClient
        const granted = yield* Effect.forEach(Array.from({ length: 6 }), () => grantedUser)
        const checks = Effect.forEach(
          granted,
          ({ user, permission }) => users.hasPermission(user.id, permission.name),
          { concurrency: "unbounded", discard: true }
        )
        const checkers = yield* Effect.forkChild(Effect.forever(Effect.andThen(checks, Effect.yieldNow)))
        // Revoke and grant again, each in its own transaction, while the checks read and keep sets.
        for (let round = 0; round < 40; round++) {
          const { role, permission } = granted[round % granted.length]!
          const held = round % (2 * granted.length) < granted.length
          yield* held
            ? otherClient("DELETE FROM role_permissions WHERE role_id = $1 AND permission_id = $2", [
                role.id,
                permission.id
              ])
            : otherClient("INSERT INTO role_permissions (role_id, permission_id) VALUES ($1, $2)", [
                role.id,
                permission.id
              ])
        }
        const last = yield* currentVersion
        yield* eventually(cache.status, (s) => s.version !== undefined && s.version >= last)
        yield* Fiber.interrupt(checkers)
        for (const { user, permission } of granted) {
          const [row] = yield* sql<{ readonly allowed: boolean }>`SELECT EXISTS (
          SELECT 1 FROM user_roles ur JOIN role_permissions rp ON rp.role_id = ur.role_id
          JOIN permissions p ON p.id = rp.permission_id
          WHERE ur.user_id = ${user.id} AND p.name = ${permission.name}) AS allowed`.pipe(Effect.orDie)
          assert.strictEqual(yield* users.hasPermission(user.id, permission.name), row!.allowed, user.email)
        }
      })
  )

  it.effect("a set read before a change, but answered after its notification, is not kept", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      const cache = yield* PermissionCache
      const { user, role, permission } = yield* grantedUser
      // The cache's read of the user's set sleeps on the server after its snapshot was taken.
      const sleeper = "pg_sleep(2) IS NULL AS slept"
      const slowRead: Statement.Transformer = (statement, sql) =>
        Effect.sync(() => {
          const [text, params] = statement.compile()
          return text.includes("AS names")
            ? sql.unsafe(text.replace("AS names", `AS names, ${sleeper}`), params)
            : statement
        })
      const read = yield* Effect.forkChild(
        users
          .hasPermission(user.id, permission.name)
          .pipe(Effect.provideService(Statement.CurrentTransformer, slowRead))
      )
      const sleeping = withAdmin(adminUrl(), (admin) =>
        admin<{ readonly count: number }>`SELECT count(*)::int AS count FROM pg_stat_activity
          WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE ${`%${sleeper}%`}`.pipe(
          Effect.map((rows) => rows[0]!.count)
        )
      ).pipe(Effect.orDie)
      assert.strictEqual(yield* eventually(sleeping, (count) => count === 1), 1, "the read is running")
      yield* otherClient("DELETE FROM role_permissions WHERE role_id = $1 AND permission_id = $2", [
        role.id,
        permission.id
      ])
      const after = yield* currentVersion
      yield* eventually(cache.status, (s) => s.version !== undefined && s.version >= after)
      assert.isTrue(yield* Fiber.join(read), "the slow read answered from its snapshot, before the revocation")
      assert.isFalse(yield* users.hasPermission(user.id, permission.name), "and what it read was not kept")
    })
  )

  it.effect("a statement that changes nothing does not raise the version", () =>
    Effect.gen(function* () {
      const { role, permission } = yield* grantedUser
      const before = yield* currentVersion
      yield* otherClient(
        "INSERT INTO role_permissions (role_id, permission_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        [role.id, permission.id]
      )
      yield* otherClient("DELETE FROM user_roles WHERE role_id = $1 AND false", [role.id])
      assert.strictEqual(yield* currentVersion, before)
    })
  )

  it.effect("inside a transaction checks see its own changes, and nothing of it is kept after a rollback", () =>
    Effect.gen(function* () {
      const users = yield* UserRepository
      const transactions = yield* Transactions
      const { user, role, permission } = yield* grantedUser
      assert.isTrue(yield* users.hasPermission(user.id, permission.name))
      yield* expectHit(users.hasPermission(user.id, permission.name), true)
      const seenInside = yield* transactions
        .withTransaction(
          Effect.gen(function* () {
            yield* users.removeRole(user.id, role.id)
            const inside = yield* users.hasPermission(user.id, permission.name)
            return yield* Effect.fail({ rollback: inside })
          })
        )
        .pipe(Effect.flip)
      assert.deepStrictEqual(seenInside, { rollback: false })
      assert.isTrue(yield* users.hasPermission(user.id, permission.name))
      yield* expectHit(users.hasPermission(user.id, permission.name), true)
      // Committed, the change is seen by the next check.
      yield* transactions.withTransaction(users.removeRole(user.id, role.id))
      assert.isFalse(yield* users.hasPermission(user.id, permission.name))
    })
  )
})

// A reconnection delayed by 2 seconds, so the test sees the cache down (its checks assert nothing about time).
const SlowReconnect = RepositoryLayers.layer.pipe(
  Layer.provideMerge(PermissionCache.layerWith({ enabled: true, maxUsers: 1000, reconnectDelay: "2 seconds" })),
  Layer.provideMerge(Database.layer),
  Layer.provideMerge(
    Layer.unwrap(
      Effect.gen(function* () {
        const database = yield* scopedDatabase({ from: "template" })
        return AppConfig.layerFrom(yield* testConfig({ DATABASE_URL: database.url }))
      })
    )
  )
)

layer(SlowReconnect, { excludeTestServices: true, timeout: "60 seconds" })(
  "permission cache, connection lost",
  (it) => {
    it.effect(
      "the notification connection killed mid-run: checks go to the database while it is down, then it reconnects",
      () =>
        Effect.gen(function* () {
          const users = yield* UserRepository
          const roles = yield* RoleRepository
          const cache = yield* PermissionCache
          const { user, role, permission } = yield* grantedUser
          const second = yield* newPermission()
          yield* roles.grant(role.id, second.id)
          assert.isTrue(yield* users.hasPermission(user.id, permission.name))
          yield* expectHit(users.hasPermission(user.id, permission.name), true)
          // Checks keep running throughout: none may fail.
          const load = yield* Effect.forkChild(
            Effect.forever(Effect.andThen(users.hasPermission(user.id, second.name), Effect.yieldNow))
          )
          const { listenerProcessId } = yield* cache.status
          assert.isDefined(listenerProcessId)
          yield* withAdmin(adminUrl(), (admin) => admin`SELECT pg_terminate_backend(${listenerProcessId!})`).pipe(
            Effect.orDie
          )
          const down = yield* eventually(cache.status, (s) => !s.listening, "5 seconds")
          assert.isFalse(down.listening, "the lost connection was noticed")
          assert.strictEqual(down.users, 0, "nothing kept while down")
          // A revocation committed while nobody listens: no notification will ever say so.
          yield* otherClient("DELETE FROM role_permissions WHERE role_id = $1 AND permission_id = $2", [
            role.id,
            permission.id
          ])
          const bypassedBefore = yield* bypasses
          // Never stale, whether answered while down (by the database) or after reconnecting.
          assert.isFalse(yield* users.hasPermission(user.id, permission.name), "the revocation is seen")
          if (!(yield* cache.status).listening) {
            assert.isTrue((yield* bypasses) > bypassedBefore, "sent to the database while down")
          }
          const up = yield* eventually(cache.status, (s) => s.listening, "10 seconds")
          assert.isTrue(up.listening, "reconnected")
          assert.notStrictEqual(up.listenerProcessId, listenerProcessId, "on a new session")
          assert.isFalse(yield* users.hasPermission(user.id, permission.name))
          yield* expectHit(users.hasPermission(user.id, permission.name), false)
          yield* expectHit(users.hasPermission(user.id, second.name), true)
          // And the new session is notified.
          yield* otherClient("DELETE FROM role_permissions WHERE role_id = $1 AND permission_id = $2", [
            role.id,
            second.id
          ])
          assert.isFalse(
            yield* eventually(users.hasPermission(user.id, second.name), (allowed) => !allowed, "5 seconds")
          )
          const loadExit = yield* Fiber.interrupt(load).pipe(Effect.andThen(Fiber.await(load)))
          assert.isTrue(loadExit._tag === "Failure" && loadExit.cause.reasons.every((r) => r._tag === "Interrupt"))
        })
    )
  }
)

layer(SlowReconnect, { excludeTestServices: true, timeout: "60 seconds" })(
  "permission cache, connection silent",
  (it) => {
    it.effect(
      "a notification connection that stops answering (its heartbeat blocked) is given up: checks go to the database",
      () =>
        Effect.gen(function* () {
          const users = yield* UserRepository
          const cache = yield* PermissionCache
          const { user, permission } = yield* grantedUser
          assert.isTrue(yield* users.hasPermission(user.id, permission.name))
          yield* expectHit(users.hasPermission(user.id, permission.name), true)
          const { listenerProcessId } = yield* cache.status
          const { database } = yield* AppConfig
          // Another client holds permission_version locked: the heartbeat's read of the version on the
          // listening session cannot answer, as from a session that died without a word (no TCP reset).
          yield* withAdmin(Redacted.value(database.url), (admin) =>
            admin.withTransaction(
              Effect.gen(function* () {
                yield* admin`LOCK TABLE permission_version IN ACCESS EXCLUSIVE MODE`
                const silent = yield* eventually(cache.status, (s) => !s.listening, "10 seconds")
                assert.isFalse(silent.listening, "the silent connection was given up")
                const bypassedBefore = yield* bypasses
                assert.isTrue(yield* users.hasPermission(user.id, permission.name), "answered by the database")
                assert.strictEqual(yield* bypasses, bypassedBefore + 1, "not from the cache")
              })
            )
          ).pipe(Effect.orDie)
          const up = yield* eventually(cache.status, (s) => s.listening, "15 seconds")
          assert.notStrictEqual(up.listenerProcessId, listenerProcessId, "on a new session")
          assert.isTrue(yield* users.hasPermission(user.id, permission.name))
          yield* expectHit(users.hasPermission(user.id, permission.name), true)
        })
    )
  }
)

describe("permission cache, a session that stops hearing notifications", () => {
  it.live(
    "still answering its heartbeat but deaf to notifications: given up with one warning, checks go to the database, back once it hears",
    () =>
      Effect.gen(function* () {
        const database = yield* scopedDatabase({ from: "template" })
        const server = new URL(database.url)
        const deafness: Deafness = { deaf: false, dropped: 0 }
        const warnings: Array<string> = []
        const capture = Logger.make(({ logLevel, message }) => {
          if (logLevel === "Warn") warnings.push([message].flat().map(String).join(" "))
        })
        const config = yield* testConfig({ DATABASE_URL: database.url })
        const services = yield* Layer.build(
          RepositoryLayers.layer.pipe(
            Layer.provideMerge(
              PermissionCache.layerWith({
                enabled: true,
                maxUsers: 1000,
                maxReconnectDelay: "200 millis",
                // The listening session's socket drops what the server notifies while deaf.
                listenTarget: {
                  url: Redacted.make(database.url),
                  ssl: false,
                  stream: deafenableSocket(server.hostname, Number(server.port || 5432), deafness)
                }
              })
            ),
            Layer.provideMerge(Database.layer),
            Layer.provideMerge(AppConfig.layerFrom(config))
          )
        ).pipe(Effect.provide(Logger.layer([capture])))
        const run = <A, E>(effect: Effect.Effect<A, E, UserRepository | RoleRepository | PermissionRepository>) =>
          Effect.provide(effect, services)
        const cache = Context.get(services, PermissionCache)
        const users = Context.get(services, UserRepository)
        const { user, permission } = yield* run(grantedUser)
        assert.isTrue((yield* cache.status).listening)
        assert.isTrue(yield* users.hasPermission(user.id, permission.name))
        yield* expectHit(users.hasPermission(user.id, permission.name), true)

        deafness.deaf = true
        const deaf = yield* eventually(cache.status, (s) => !s.listening, "10 seconds")
        assert.isFalse(deaf.listening, "a session that does not hear its own notification was given up")
        assert.isAbove(deafness.dropped, 0)
        const bypassedBefore = yield* bypasses
        assert.isTrue(yield* users.hasPermission(user.id, permission.name), "answered by the database")
        assert.strictEqual(yield* bypasses, bypassedBefore + 1, "not from the cache")
        // Its reconnections cannot hear either: still not serving after several attempts, and one warning.
        yield* Effect.sleep("3 seconds")
        assert.isFalse((yield* cache.status).listening)
        const notHearing = warnings.filter((line) => line.includes("does not hear notifications"))
        assert.strictEqual(notHearing.length, 1, warnings.join("\n"))

        deafness.deaf = false
        const up = yield* eventually(cache.status, (s) => s.listening, "10 seconds")
        assert.isTrue(up.listening, "serves again once its session hears")
        assert.isTrue(yield* users.hasPermission(user.id, permission.name))
        yield* expectHit(users.hasPermission(user.id, permission.name), true)
      }).pipe(Effect.scoped),
    { timeout: 60_000 }
  )
})

describe("permission cache, one instance against another", () => {
  it.live("a revocation committed by one instance is seen by the other, which holds a connection of its own", () =>
    Effect.gen(function* () {
      const database = yield* scopedDatabase({ from: "template" })
      const instance = (name: string) =>
        Effect.gen(function* () {
          const config = yield* testConfig({
            DATABASE_URL: database.url,
            DATABASE_APPLICATION_NAME: name,
            // One pool connection: the cache's listener must not take it.
            DATABASE_POOL_MAX_CONNECTIONS: "1"
          })
          const scope = yield* Scope.make()
          const context = yield* Layer.buildWithScope(
            RepositoryLayers.layer.pipe(
              Layer.provideMerge(PermissionCache.layer),
              Layer.provideMerge(Database.layer),
              Layer.provideMerge(AppConfig.layerFrom(config))
            ),
            scope
          )
          return { context, scope }
        })
      const suffix = Math.random().toString(36).slice(2, 8)
      const a = yield* instance(`pk-cache-a-${suffix}`)
      const b = yield* instance(`pk-cache-b-${suffix}`)
      const { user, role } = yield* grantedUser.pipe(Effect.provide(a.context))
      const permission = yield* Effect.flatMap(RoleRepository, (roles) => roles.permissionsOf(role.id)).pipe(
        Effect.provide(a.context),
        Effect.map((list) => list[0]!)
      )
      const check = Effect.flatMap(UserRepository, (users) => users.hasPermission(user.id, permission.name))
      assert.isTrue(yield* check.pipe(Effect.provide(b.context)))
      yield* expectHit(check, true).pipe(Effect.provide(b.context))
      // The pool's one connection, and the listener's own.
      assert.strictEqual(yield* sessionsNamed(`pk-cache-b-${suffix}`), 1)
      assert.strictEqual(yield* sessionsNamed(`pk-cache-b-${suffix}${LISTENER_SUFFIX}`), 1)
      yield* Effect.flatMap(UserRepository, (users) => users.removeRole(user.id, role.id)).pipe(
        Effect.provide(a.context)
      )
      assert.isFalse(yield* eventually(check.pipe(Effect.provide(b.context)), (allowed) => !allowed, "5 seconds"))
      yield* Scope.close(a.scope, Exit.void)
      yield* Scope.close(b.scope, Exit.void)
      // No session left behind, the listener's included.
      for (const name of [`pk-cache-a-${suffix}`, `pk-cache-b-${suffix}`]) {
        assert.strictEqual(yield* eventually(sessionsNamed(name), (n) => n === 0), 0, name)
        const listener = `${name}${LISTENER_SUFFIX}`
        assert.strictEqual(yield* eventually(sessionsNamed(listener), (n) => n === 0), 0, listener)
      }
    }).pipe(Effect.scoped)
  )

  it.live("is off when configured off, and under database.pgbouncer (LISTEN cannot work there)", () =>
    Effect.gen(function* () {
      for (const env of [
        { DATABASE_PERMISSION_CACHE_ENABLED: "false" },
        { DATABASE_PGBOUNCER: "true", DATABASE_PREPARE: "false" }
      ]) {
        const status = yield* Effect.flatMap(PermissionCache, (cache) => cache.status).pipe(
          Effect.provide(
            PermissionCache.layer.pipe(
              Layer.provideMerge(Database.layer),
              Layer.provideMerge(
                Layer.unwrap(
                  Effect.gen(function* () {
                    const database = yield* scopedDatabase({ from: "template" })
                    return AppConfig.layerFrom(yield* testConfig({ DATABASE_URL: database.url, ...env }))
                  })
                )
              )
            )
          )
        )
        assert.deepStrictEqual(status, {
          enabled: false,
          listening: false,
          version: undefined,
          users: 0,
          listenerProcessId: undefined
        })
      }
    }).pipe(Effect.scoped)
  )
})
