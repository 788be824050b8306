import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Layer, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { AppConfig } from "../../src/Config/AppConfig.ts"
import * as Database from "../../src/Database/Database.ts"
import { eventually } from "../support/Eventually.ts"
import { expectFailure } from "../support/Expect.ts"
import { freePort } from "../support/freePort.ts"
import { sessionsNamed } from "../support/Sessions.ts"
import { scopedDatabase, testConfig } from "../support/TestDatabase.ts"

describe("DatabaseClient", () => {
  it.live(
    "keeps at most maxConnections open under 3x as many concurrent queries, and none after its scope closes",
    () =>
      Effect.gen(function* () {
        const database = yield* scopedDatabase({ from: "template" })
        const applicationName = `pk-pool-${process.pid}-${Date.now()}`
        const config = yield* testConfig({
          DATABASE_URL: database.url,
          DATABASE_APPLICATION_NAME: applicationName,
          DATABASE_POOL_MAX_CONNECTIONS: "4",
          DATABASE_POOL_MIN_CONNECTIONS: "2"
        })
        const scope = yield* Scope.make()
        const services = yield* Layer.buildWithScope(
          Database.layerConnection.pipe(Layer.provide(AppConfig.layerFrom(config))),
          scope
        )
        const sql = Context.get(services, SqlClient.SqlClient)
        let peak = 0
        const watcher = yield* Effect.forkChild(
          Effect.forever(
            Effect.tap(sessionsNamed(applicationName), (count) =>
              Effect.sync(() => {
                peak = Math.max(peak, count)
              })
            ).pipe(Effect.andThen(Effect.sleep("20 millis")))
          )
        )
        yield* Effect.forEach(Array.from({ length: 12 }), () => sql`SELECT pg_sleep(0.15)`, {
          concurrency: "unbounded"
        })
        assert.isAtMost(peak, 4)
        assert.isAtLeast(peak, 2)
        yield* Scope.close(scope, Exit.void)
        // The server drops a backend shortly after its client says goodbye.
        assert.strictEqual(yield* eventually(sessionsNamed(applicationName), (count) => count === 0), 0)
        void watcher
      }).pipe(Effect.scoped)
  )

  it.live("fails with host, port and database named within database.startup.timeout when the server is down", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const config = yield* testConfig({
        DATABASE_URL: `postgres://postgres:hunter2-secret@127.0.0.1:${port}/nowhere`,
        DATABASE_STARTUP_TIMEOUT: "1 second"
      })
      const started = Date.now()
      const { message } = yield* expectFailure(
        Layer.build(Database.layerConnection.pipe(Layer.provide(AppConfig.layerFrom(config)))).pipe(Effect.scoped),
        "DatabaseStartupError"
      )
      const elapsed = Duration.millis(Date.now() - started)
      assert.include(message, `127.0.0.1:${port}`)
      assert.include(message, `"nowhere"`)
      assert.include(message, "ECONNREFUSED")
      assert.notInclude(message, "hunter2-secret")
      assert.isBelow(Duration.toMillis(elapsed), 5_000)
    })
  )
})
