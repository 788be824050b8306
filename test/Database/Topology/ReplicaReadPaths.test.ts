/**
 * More reads on the replicas, against a primary and a streaming standby started here (`pg_basebackup -R`):
 * the permission cache's misses (never stale: a replica older than the version the cache knows, or than a change
 * committed here, is passed over for the primary), the entity kit's repositories (findById, findBy<Key>, list,
 * stream; transactions and read-your-writes on the primary), and group-committed audit appends (every caller of
 * a batch gets the commit's WAL position, so its own replica read waits for it or reads the primary). The
 * standby's replay is paused to make it lag on purpose.
 */
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Context, DateTime, Deferred, Effect, Exit, Fiber, Layer, Ref, Stream } from "effect"
import { afterAll, beforeAll } from "vitest"
import { SessionRepository } from "../../../examples/auth-sessions/src/AuthEntities.ts"
import { PermissionCache } from "../../../src/Database/Access/PermissionCache.ts"
import * as PlatformKernel from "../../../src/Database/PlatformKernel.ts"
import { AuditLogRepository } from "../../../src/Database/Repositories/AuditLogRepository.ts"
import { RoleRepository } from "../../../src/Database/Repositories/RoleRepository.ts"
import { Transactions } from "../../../src/Database/Repositories/Transactions.ts"
import { UserRepository } from "../../../src/Database/Repositories/UserRepository.ts"
import { ReadReplicas } from "../../../src/Database/Topology/ReadReplicas.ts"
import * as ReadYourWrites from "../../../src/Database/Topology/ReadYourWrites.ts"
import type { PermissionName, UserId } from "../../../src/Domain/index.ts"
import { grantedUser, newPermission, newUser } from "../../Contract/Fixtures.ts"
import { eventually } from "../../support/Eventually.ts"
import { sessionsOn, setReplayPaused } from "../../support/Replication.ts"
import {
  makeThrowawayPostgres,
  type ThrowawayPostgres,
  type ThrowawayServer,
  throwawayPostgresUnavailable
} from "../../support/ThrowawayPostgres.ts"

const unavailable = await throwawayPostgresUnavailable({ tls: false })
if (unavailable !== undefined) console.warn(`replica read path tests skipped: ${unavailable}`)

const APP = "pk-replica-paths"

const serviceMigrations = {
  directory: fileURLToPath(new URL("../../../examples/auth-sessions/migrations", import.meta.url)),
  table: "auth_migrations",
  schema: "auth"
}

describe.skipIf(unavailable !== undefined)(
  `reads on the replicas: permission misses, the entity kit, audit group commit${unavailable === undefined ? "" : ` (skipped: ${unavailable})`}`,
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

    /** A kernel (with the auth example's tables) whose lag-tolerant reads go to the standby. */
    const withKernel = <A, E>(
      use: (services: Context.Context<PlatformKernel.Services | SessionRepository>) => Effect.Effect<A, E>
    ) =>
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
          const kernel = PlatformKernel.layerWith({ config: { env }, telemetry: false, serviceMigrations })
          const services = yield* Layer.build(SessionRepository.layer.pipe(Layer.provideMerge(kernel)))
          return yield* use(services)
        })
      )

    const pauseReplay = (paused: boolean) => setReplayPaused(standby, paused)

    /** Until the standby has replayed everything the primary has written so far. */
    const caughtUp = Effect.promise(async () => {
      const lsn = (await primary.psql("SELECT pg_current_wal_lsn()")).trim()
      for (let attempt = 0; attempt < 500; attempt++) {
        if ((await standby.psql(`SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn`)).trim() === "t") return
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      throw new Error(`the standby did not replay ${lsn}`)
    })

    /** A permission check in a context of its own: no written position of the test's to wait for. */
    const check = (userId: UserId, permission: PermissionName) =>
      UserRepository.use((users) => users.hasPermission(userId, permission).pipe(ReadYourWrites.session()))

    it.live("a permission cache miss reads the replica when it is current", () =>
      withKernel((services) =>
        Effect.gen(function* () {
          const replicas = Context.get(services, ReadReplicas)
          const cache = Context.get(services, PermissionCache)
          assert.isTrue((yield* eventually(cache.status, (status) => status.listening)).listening)
          const first = yield* grantedUser
          const second = yield* grantedUser
          // The first miss after a change made here reads the primary: the change's version is not known yet.
          assert.isTrue(yield* check(first.user.id, first.permission.name))
          yield* caughtUp
          const before = { ...replicas.served }
          assert.isTrue(yield* check(second.user.id, second.permission.name))
          assert.strictEqual(replicas.served.replica, before.replica + 1, "the miss was read on the replica")
          assert.strictEqual(replicas.served.primary, before.primary)
          assert.isAtLeast(yield* sessionsOn(standby, `${APP}-replica`), 1)
          // Kept: the next check is a hit, with no read anywhere.
          assert.isTrue(yield* check(second.user.id, second.permission.name))
          assert.strictEqual(replicas.served.replica, before.replica + 1)
        }).pipe(Effect.provideContext(services))
      )
    )

    it.live("a permission cache miss never answers from a lagging replica what a change made stale", () =>
      withKernel((services) =>
        Effect.gen(function* () {
          const roles = Context.get(services, RoleRepository)
          const cache = Context.get(services, PermissionCache)
          assert.isTrue((yield* eventually(cache.status, (status) => status.listening)).listening)
          const { user, role, permission } = yield* grantedUser
          const revoked = yield* newPermission()
          const granted = yield* newPermission()
          yield* roles.grant(role.id, revoked.id)
          assert.isTrue(yield* check(user.id, revoked.name))
          yield* caughtUp
          yield* pauseReplay(true)
          try {
            // A revoke by another client (raw SQL on the primary), checked once the cache has heard of it: the
            // lagging replica still has the grant, at an older version than the cache knows.
            yield* Effect.promise(() =>
              primary.psql(
                `DELETE FROM role_permissions WHERE role_id = '${role.id}' AND permission_id = '${revoked.id}'`
              )
            )
            const version = BigInt(
              (yield* Effect.promise(() => primary.psql("SELECT version FROM permission_version"))).trim()
            )
            const status = yield* eventually(cache.status, (status) => (status.version ?? 0n) >= version)
            assert.isTrue((status.version ?? 0n) >= version, "the cache heard the revoke")
            assert.isFalse(yield* check(user.id, revoked.name), "revoked elsewhere: not answered from the replica")

            // A grant through this process's repositories, checked from another context at once.
            yield* roles.grant(role.id, granted.id)
            assert.isTrue(yield* check(user.id, granted.name), "granted here: seen by the next check")

            // A revoke then a check in the writer's own context (read-your-writes).
            yield* Effect.gen(function* () {
              yield* roles.revoke(role.id, permission.id)
              assert.isFalse(yield* (yield* UserRepository).hasPermission(user.id, permission.name))
            }).pipe(ReadYourWrites.session())

            // The replica still gives the old answers: only the primary gave the right ones.
            const onStandby = yield* Effect.promise(() =>
              standby.psql(
                `SELECT string_agg(p.name, ',' ORDER BY p.name) FROM role_permissions rp JOIN permissions p ON p.id = rp.permission_id WHERE rp.role_id = '${role.id}'`
              )
            )
            assert.deepStrictEqual(
              onStandby.trim().split(",").sort(),
              [permission.name, revoked.name].sort(),
              "the standby lags: it has replayed none of the three changes"
            )
          } finally {
            yield* pauseReplay(false)
          }
        }).pipe(Effect.provideContext(services))
      )
    )

    it.live("the entity kit reads on the replica; read-your-writes and transactions on the primary", () =>
      withKernel((services) =>
        Effect.gen(function* () {
          const sessions = Context.get(services, SessionRepository)
          const transactions = Context.get(services, Transactions)
          const replicas = Context.get(services, ReadReplicas)
          const user = yield* newUser()
          const create = (label: string) =>
            sessions.create({
              userId: user.id,
              tokenHash: `token-${label}-${Date.now()}`,
              expiresAt: DateTime.makeUnsafe(Date.UTC(2030, 0, 1))
            })
          const session = yield* create("replica")
          yield* caughtUp
          const before = { ...replicas.served }
          yield* Effect.gen(function* () {
            assert.strictEqual((yield* sessions.findById(session.id)).id, session.id)
            assert.strictEqual((yield* sessions.findByTokenHash(session.tokenHash)).id, session.id)
            assert.strictEqual((yield* sessions.list({ userId: user.id })).items.length, 1)
            assert.strictEqual((yield* Stream.runCollect(sessions.stream({ userId: user.id }))).length, 1)
          }).pipe(ReadYourWrites.session())
          assert.strictEqual(replicas.served.replica, before.replica + 4, "four reads on the replica")
          assert.strictEqual(replicas.served.primary, before.primary)

          yield* pauseReplay(true)
          try {
            // Created and read in one context: the replica lags, so the read goes to the primary.
            const mine = yield* Effect.gen(function* () {
              const created = yield* create("ryw")
              const primaryBefore = replicas.served.primary
              assert.strictEqual((yield* sessions.findById(created.id)).id, created.id)
              assert.strictEqual((yield* sessions.findByTokenHash(created.tokenHash)).id, created.id)
              assert.strictEqual(replicas.served.primary, primaryBefore + 2, "served by the primary")
              return created
            }).pipe(ReadYourWrites.session())
            // A context that wrote nothing reads the lagging replica: the row is not there yet.
            const elsewhere = yield* Effect.exit(sessions.findById(mine.id).pipe(ReadYourWrites.session()))
            assert.isTrue(Exit.isFailure(elsewhere), "the paused replica does not have the row")

            // In a transaction every read is on the primary (its connection), whatever the replica has.
            const served = { ...replicas.served }
            const inTransaction = yield* transactions.withTransaction(
              Effect.gen(function* () {
                const created = yield* create("tx")
                return yield* sessions.findById(created.id)
              })
            )
            assert.isDefined(inTransaction.id)
            assert.deepStrictEqual({ ...replicas.served }, served, "no read went through the replica pool")
          } finally {
            yield* pauseReplay(false)
          }
        }).pipe(Effect.provideContext(services))
      )
    )

    it.live("a batched findById reads what every caller of the batch wrote (read-your-writes across a batch)", () =>
      withKernel((services) =>
        Effect.gen(function* () {
          const users = Context.get(services, UserRepository)
          const bystander = yield* newUser()
          yield* caughtUp
          yield* pauseReplay(true)
          try {
            // Writers create a user each in their own context; then every caller looks up at the same moment, so
            // the lookups are batched into one statement. Bystanders (no write of their own) come first, so the
            // batch is not run at a writer's position; it must still not read the lagging replica at a
            // bystander's (empty) position.
            const writers = 6
            const created = yield* Ref.make(0)
            const go = yield* Deferred.make<void>()
            const found = yield* Effect.forEach(
              Array.from({ length: writers + 3 }, (_, index) => index),
              (index) =>
                Effect.gen(function* () {
                  const id = index < 3 ? bystander.id : (yield* newUser()).id
                  if (index >= 3) yield* Ref.update(created, (count) => count + 1)
                  yield* Deferred.await(go)
                  return yield* Effect.exit(users.findById(id))
                }).pipe(ReadYourWrites.session()),
              { concurrency: "unbounded" }
            ).pipe(
              Effect.forkChild,
              Effect.tap(() =>
                Effect.gen(function* () {
                  while ((yield* Ref.get(created)) < writers) yield* Effect.sleep("5 millis")
                  yield* Deferred.succeed(go, undefined)
                })
              ),
              Effect.flatMap(Fiber.join)
            )
            assert.deepStrictEqual(
              found.flatMap((exit, index) => (Exit.isSuccess(exit) ? [] : [index])),
              [],
              "callers that did not find the user (their own, or one replayed before the pause)"
            )
          } finally {
            yield* pauseReplay(false)
          }
        }).pipe(Effect.provideContext(services))
      )
    )

    it.live("every caller of a group-committed audit batch reads its own row (read-your-writes)", () =>
      withKernel((services) =>
        Effect.gen(function* () {
          const auditLogs = Context.get(services, AuditLogRepository)
          yield* caughtUp
          yield* pauseReplay(true)
          try {
            const seen = yield* Effect.forEach(
              Array.from({ length: 24 }, (_, index) => index),
              (index) =>
                Effect.gen(function* () {
                  const log = yield* auditLogs.append({ action: "replica.test", targetId: `caller-${index}` })
                  return Exit.isSuccess(yield* Effect.exit(auditLogs.findById(log.id)))
                }).pipe(ReadYourWrites.session()),
              { concurrency: "unbounded" }
            )
            assert.deepStrictEqual(
              seen.flatMap((found, index) => (found ? [] : [index])),
              [],
              "callers that did not see their own row"
            )
          } finally {
            yield* pauseReplay(false)
          }
        }).pipe(Effect.provideContext(services))
      )
    )
  }
)
