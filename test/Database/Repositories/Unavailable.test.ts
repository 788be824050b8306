import { assert, describe, it, layer } from "@effect/vitest"
import { Context, Deferred, Effect, Fiber, Layer, Option, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { AppConfig } from "../../../src/Config/AppConfig.ts"
import * as DatabaseClient from "../../../src/Database/Client/DatabaseClient.ts"
import { DatabaseTarget } from "../../../src/Database/Client/DatabaseTarget.ts"
import { DatabaseMigrations } from "../../../src/Database/Migrations/DatabaseMigrations.ts"
import { AuditLogRepository } from "../../../src/Database/Repositories/AuditLogRepository.ts"
import { PermissionRepository } from "../../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../../src/Database/Repositories/RoleRepository.ts"
import { Transactions } from "../../../src/Database/Repositories/Transactions.ts"
import { UserRepository } from "../../../src/Database/Repositories/UserRepository.ts"
import * as RepositoryLayers from "../../../src/Database/RepositoryLayers.ts"
import { DatabaseUnavailable, UserId } from "../../../src/Domain/index.ts"
import { makeHash, uniqueEmail, uniqueRoleName } from "../../Contract/Fixtures.ts"
import { withAdmin } from "../../support/adminClient.ts"
import { expectError } from "../../support/Expect.ts"
import { freePort } from "../../support/freePort.ts"
import { RepositoriesTestLayer } from "../../support/RepositoriesTestLayer.ts"
import { adminUrl, testConfig } from "../../support/TestDatabase.ts"

const someUserId = UserId.make("00000000-0000-7000-8000-0000000000cc")

const expectUnavailable = <A, E, R>(effect: Effect.Effect<A, E, R>, operation: string) =>
  Effect.gen(function* () {
    const error = yield* expectError(effect, DatabaseUnavailable)
    assert.strictEqual(error.operation, operation)
    assert.isTrue(error.isRetryable)
    return error
  })

// The repositories over a pool pointed at a port nothing listens on. The migrations service is stubbed:
// the point is what a query does once the server has gone, not how startup copes with it.
const DeadServerLayer = Layer.unwrap(
  Effect.gen(function* () {
    const port = yield* Effect.promise(freePort)
    const config = yield* testConfig({
      DATABASE_URL: `postgres://postgres:hunter2-secret@127.0.0.1:${port}/nowhere`,
      DATABASE_CONNECT_TIMEOUT: "1 second"
    })
    return RepositoryLayers.layer.pipe(
      Layer.provide(
        Layer.succeed(
          DatabaseMigrations,
          DatabaseMigrations.of({ appliedAtStartup: [], status: Effect.die("no database"), service: Option.none() })
        )
      ),
      Layer.provide(DatabaseClient.layerNoWait),
      Layer.provide(DatabaseTarget.layer({ embedded: "attach" })),
      Layer.provide(AppConfig.layerFrom(config))
    )
  })
)

describe("DatabaseUnavailable", () => {
  layer(DeadServerLayer, { excludeTestServices: true, timeout: "60 seconds" })("with the server down", (it) => {
    it.effect("every kind of call fails with DatabaseUnavailable naming the operation, never the password", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const roles = yield* RoleRepository
        const permissions = yield* PermissionRepository
        const audit = yield* AuditLogRepository
        const { withTransaction } = yield* Transactions
        const errors = [
          yield* expectUnavailable(users.findById(someUserId), "UserRepository.findById"),
          yield* expectUnavailable(
            users.create({ email: uniqueEmail(), passwordHash: makeHash() }),
            "UserRepository.create"
          ),
          yield* expectUnavailable(users.hasPermission(someUserId, "iam.users.read"), "UserRepository.hasPermission"),
          yield* expectUnavailable(roles.list(), "RoleRepository.list"),
          yield* expectUnavailable(roles.ensure({ name: uniqueRoleName() }), "RoleRepository.ensure"),
          yield* expectUnavailable(permissions.findByName("iam.users.read"), "PermissionRepository.findByName"),
          yield* expectUnavailable(audit.append({ action: "test.down" }), "AuditLogRepository.append"),
          yield* expectUnavailable(withTransaction(Effect.void), "Transactions.withTransaction")
        ]
        for (const error of errors) assert.notInclude(error.message, "hunter2-secret")
      })
    )
  })

  // A session killed under a running statement (what a server restart or failover does) answers with
  // SQLSTATE 57P01 and closes; killing an idle pooled session instead is often healed silently by the pool.
  it.live("a statement whose session the server terminates surfaces as DatabaseUnavailable; later calls recover", () =>
    Effect.gen(function* () {
      const applicationName = `pk-terminated-${process.pid}-${Date.now()}`
      const context = yield* Layer.build(
        RepositoriesTestLayer({ DATABASE_APPLICATION_NAME: applicationName, DATABASE_POOL_MAX_CONNECTIONS: "2" })
      )
      const sql = Context.get(context, SqlClient.SqlClient)
      const users = Context.get(context, UserRepository)
      const { withTransaction } = Context.get(context, Transactions)
      const user = yield* users.create({ email: uniqueEmail(), passwordHash: makeHash() })

      // Runs `call` while another session holds the user's row, and terminates the session of `call` once
      // it waits for that lock; returns how `call` failed.
      const terminatedWhileWaiting = <A, E>(call: Effect.Effect<A, E>) =>
        Effect.gen(function* () {
          const locked = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          const holder = yield* Effect.forkChild(
            sql.withTransaction(
              Effect.gen(function* () {
                yield* sql`SELECT id FROM users WHERE id = ${user.id} FOR UPDATE`
                yield* Deferred.succeed(locked, undefined)
                yield* Deferred.await(release)
              })
            )
          )
          const error = yield* Effect.gen(function* () {
            yield* Deferred.await(locked)
            const blocked = yield* Effect.forkChild(Effect.flip(call))
            const terminated = yield* withAdmin(adminUrl(), (admin) =>
              admin<{ readonly terminated: boolean }>`SELECT pg_terminate_backend(pid) AS terminated
                FROM pg_stat_activity WHERE application_name = ${applicationName} AND wait_event_type = 'Lock'`.pipe(
                Effect.filterOrFail(
                  (rows) => rows.length === 1,
                  () => "not waiting yet"
                ),
                Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 100 })
              )
            )
            assert.isTrue(terminated[0]!.terminated)
            return yield* Fiber.join(blocked)
          }).pipe(Effect.ensuring(Deferred.succeed(release, undefined)))
          yield* Fiber.join(holder)
          return error
        })

      const alone = yield* terminatedWhileWaiting(users.delete(user.id))
      yield* expectUnavailable(Effect.fail(alone), "UserRepository.delete")

      const inTransaction = yield* terminatedWhileWaiting(
        withTransaction(Effect.andThen(users.update(user.id, { verified: true }), users.delete(user.id)))
      )
      assert.strictEqual(inTransaction._tag, "DatabaseUnavailable")

      const found = yield* users.findById(user.id)
      assert.strictEqual(found.id, user.id, "the delete did not happen")
      assert.isFalse(found.verified, "the transaction was rolled back")
    }).pipe(Effect.scoped)
  )

  layer(RepositoriesTestLayer({ DATABASE_STATEMENT_TIMEOUT: "300 millis" }), {
    excludeTestServices: true,
    timeout: "60 seconds"
  })("with a statement timeout", (it) => {
    it.effect("a statement stuck behind a lock surfaces as DatabaseUnavailable when it times out", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const users = yield* UserRepository
        const user = yield* users.create({ email: uniqueEmail(), passwordHash: makeHash() })
        const locked = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        // Another session holds the row until told to let go.
        const holder = yield* Effect.forkChild(
          sql.withTransaction(
            Effect.gen(function* () {
              yield* sql`SELECT id FROM users WHERE id = ${user.id} FOR UPDATE`
              yield* Deferred.succeed(locked, undefined)
              yield* Deferred.await(release)
            })
          )
        )
        yield* Effect.gen(function* () {
          yield* Deferred.await(locked)
          const error = yield* expectUnavailable(users.update(user.id, { verified: true }), "UserRepository.update")
          assert.include(error.message, "StatementTimeoutError")
        }).pipe(Effect.ensuring(Deferred.succeed(release, undefined)))
        yield* Fiber.join(holder)
        assert.isFalse((yield* users.findById(user.id)).verified)
      })
    )
  })
})
