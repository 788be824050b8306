/**
 * Startup retries only what can heal. Each failure below cannot, so it must end startup at once (far inside
 * `database.startup.timeout`) with one line, and without announcing a retry it does not make.
 */
import { createServer, type Server } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Redacted } from "effect"
import type { SqlClient } from "effect/sql"
import { afterAll, beforeAll } from "vitest"
import type { AppConfigValues } from "../../../src/Config/ConfigSchema.ts"
import { type StartupOutcome, startClient } from "../../support/ClientStartup.ts"
import { freePort } from "../../support/freePort.ts"
import { adminUrl, testConfig } from "../../support/TestDatabase.ts"
import {
  makeThrowawayPostgres,
  type ThrowawayPostgres,
  type ThrowawayServer,
  throwawayPostgresUnavailable
} from "../../support/ThrowawayPostgres.ts"
import { databaseUrl } from "../../support/urls.ts"

const unavailable = await throwawayPostgresUnavailable({ tls: false })
if (unavailable !== undefined) console.warn(`password tests skipped: ${unavailable}`)

const STARTUP_TIMEOUT = "20 seconds"
const AT_ONCE_MS = 5_000
const RETRY_WARNING = "database not reachable yet, retrying"

const selectOne = (sql: SqlClient.SqlClient) => sql`SELECT 1`

const startWith = (env: Record<string, string>) =>
  Effect.flatMap(testConfig({ DATABASE_STARTUP_TIMEOUT: STARTUP_TIMEOUT, ...env }), (config) =>
    startClient(config, selectOne)
  )

const assertFailedAtOnce = (outcome: StartupOutcome<unknown>, expected: RegExp, secret?: string) => {
  assert.isTrue(Exit.isFailure(outcome.exit), "startup succeeded, but should have failed")
  assert.match(outcome.message, expected)
  assert.notInclude(outcome.message, "\n")
  if (secret !== undefined) assert.notInclude(outcome.message, secret)
  assert.deepStrictEqual(outcome.warnings, [], "a retry was announced")
  assert.isBelow(outcome.elapsedMs, AT_ONCE_MS, `took ${outcome.elapsedMs} ms: ${outcome.message}`)
}

/**
 * Answers every startup packet as PgBouncer answers one carrying a parameter it does not know, and counts
 * the connections it was asked for.
 */
const startPgBouncerRefusingParameters = async (): Promise<{
  readonly port: number
  readonly connections: () => number
  readonly close: () => Promise<void>
}> => {
  const field = (type: string, value: string) => Buffer.from(`${type}${value}\0`)
  const body = Buffer.concat([
    field("S", "FATAL"),
    field("V", "FATAL"),
    field("C", "08P01"),
    field("M", "unsupported startup parameter: statement_timeout"),
    Buffer.from([0])
  ])
  const header = Buffer.alloc(5)
  header.write("E", 0)
  header.writeInt32BE(body.length + 4, 1)
  const reply = Buffer.concat([header, body])
  let connections = 0
  const server: Server = createServer((socket) => {
    connections++
    socket.once("data", () => socket.end(reply))
    socket.on("error", () => undefined)
  })
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
  return {
    port,
    connections: () => connections,
    close: () => new Promise((resolve) => server.close(() => resolve()))
  }
}

describe("startup fails at once on what cannot heal", () => {
  it.live("a database that does not exist", () =>
    Effect.gen(function* () {
      const outcome = yield* startWith({ DATABASE_URL: databaseUrl(adminUrl(), "pk_no_such_database") })
      assertFailedAtOnce(outcome, /database "pk_no_such_database" does not exist$/)
    })
  )

  it.live("a startup parameter the server rejects (42704)", () =>
    Effect.gen(function* () {
      const url = new URL(adminUrl())
      url.searchParams.set("options", "-c no_such_setting=on")
      const outcome = yield* startWith({ DATABASE_URL: url.toString() })
      assertFailedAtOnce(outcome, /unrecognized configuration parameter "no_such_setting"$/)
    })
  )

  it.live("a startup parameter PgBouncer rejects (08P01), asked for once, naming the setting to change", () =>
    Effect.gen(function* () {
      const pgBouncer = yield* Effect.acquireRelease(Effect.promise(startPgBouncerRefusingParameters), (server) =>
        Effect.promise(server.close)
      )
      const outcome = yield* startWith({ DATABASE_URL: `postgres://app:pw@127.0.0.1:${pgBouncer.port}/platform` })
      assertFailedAtOnce(
        outcome,
        /unsupported startup parameter: statement_timeout; behind PgBouncer in transaction mode, set database\.pgbouncer: true \(DATABASE_PGBOUNCER=true\)$/
      )
      assert.strictEqual(pgBouncer.connections(), 1)
    }).pipe(Effect.scoped)
  )

  describe("configuration given as values, which the loader did not check", () => {
    const withUrl = (config: AppConfigValues, url: string): AppConfigValues => ({
      ...config,
      database: { ...config.database, url: Redacted.make(url) }
    })

    it.live("an unknown sslmode", () =>
      Effect.gen(function* () {
        const config = yield* testConfig({ DATABASE_STARTUP_TIMEOUT: STARTUP_TIMEOUT })
        const outcome = yield* startClient(withUrl(config, `${adminUrl()}?sslmode=verify`), selectOne)
        assertFailedAtOnce(outcome, /^database\.url: unknown sslmode, got a string of 6 characters/)
      })
    )

    it.live("a malformed percent-escape, named without echoing the URL", () =>
      Effect.gen(function* () {
        const config = yield* testConfig({ DATABASE_STARTUP_TIMEOUT: STARTUP_TIMEOUT })
        const outcome = yield* startClient(withUrl(config, "postgres://u:%zz-secret@127.0.0.1:5432/db"), selectOne)
        assertFailedAtOnce(outcome, /^database\.url: malformed percent-encoding in the password$/, "%zz-secret")
      })
    )

    it.live("a root certificate file that does not exist", () =>
      Effect.gen(function* () {
        const config = yield* testConfig({
          DATABASE_URL: adminUrl(),
          DATABASE_SSL: "verify-full",
          DATABASE_SSL_ROOT_CERT: "/nonexistent/root.crt",
          DATABASE_STARTUP_TIMEOUT: STARTUP_TIMEOUT
        })
        const outcome = yield* startClient(config, selectOne)
        assertFailedAtOnce(outcome, /^database\.sslRootCert: cannot read the root certificate file \(ENOENT\)$/)
      })
    )
  })

  describe.skipIf(unavailable !== undefined)(
    `on a server with password authentication${unavailable === undefined ? "" : ` (skipped: ${unavailable})`}`,
    () => {
      let servers: ThrowawayPostgres
      let server: ThrowawayServer
      beforeAll(async () => {
        servers = await makeThrowawayPostgres({ tls: false })
        server = await servers.start({ tls: false })
      }, 120_000)
      afterAll(() => servers?.close())

      it.live("a wrong password", () =>
        Effect.gen(function* () {
          const outcome = yield* startWith({ DATABASE_URL: server.url({ password: "wrong-Secret-99" }) })
          assertFailedAtOnce(outcome, /password authentication failed for user "postgres"$/, "wrong-Secret-99")
        })
      )

      it.live("the right password connects (the server accepts what the test sends)", () =>
        Effect.gen(function* () {
          const outcome = yield* startWith({ DATABASE_URL: server.url() })
          assert.isTrue(Exit.isSuccess(outcome.exit), outcome.message)
        })
      )
    }
  )
})

describe("startup retries what can heal", () => {
  it.live("a refused connection is retried, announced, until database.startup.timeout", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const outcome = yield* startWith({
        DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres`,
        DATABASE_STARTUP_TIMEOUT: "1 second"
      })
      assert.isTrue(Exit.isFailure(outcome.exit))
      assert.match(outcome.message, /no connection within database\.startup\.timeout \(1s\): .*ECONNREFUSED/)
      assert.isAtLeast(outcome.warnings.length, 2)
      assert.include(outcome.warnings[0], RETRY_WARNING)
    })
  )
})
