/**
 * `sslmode` as libpq means it, against real servers started here: one with TLS (its certificate, from a
 * throwaway CA, names `localhost` only) and one without.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { afterAll, beforeAll } from "vitest"
import { runCli } from "../../Main/runCli.ts"
import { sessionUsesTls, startClient } from "../../support/ClientStartup.ts"
import { testConfig } from "../../support/TestDatabase.ts"
import {
  makeThrowawayPostgres,
  PASSWORD,
  type ThrowawayPostgres,
  type ThrowawayServer,
  throwawayPostgresUnavailable
} from "../../support/ThrowawayPostgres.ts"

const unavailable = await throwawayPostgresUnavailable({ tls: true })
if (unavailable !== undefined) console.warn(`TLS tests skipped: ${unavailable}`)

// Far above what a refused connection takes, so a retry loop cannot pass for a fast failure.
const STARTUP_TIMEOUT = "20 seconds"
const AT_ONCE_MS = 5_000

describe.skipIf(unavailable !== undefined)(
  `TLS against real servers${unavailable === undefined ? "" : ` (skipped: ${unavailable})`}`,
  () => {
    let servers: ThrowawayPostgres
    const certificates = () => servers.certificates!
    let withTls: ThrowawayServer
    let withoutTls: ThrowawayServer
    beforeAll(async () => {
      servers = await makeThrowawayPostgres({ tls: true })
      withTls = await servers.start({ tls: true })
      withoutTls = await servers.start({ tls: false })
    }, 120_000)
    afterAll(() => servers?.close())

    /** Connects through the library's startup check with `env` as configuration; `ssl` is pg_stat_ssl's verdict. */
    const connect = (env: Record<string, string>) =>
      Effect.gen(function* () {
        const config = yield* testConfig({ DATABASE_STARTUP_TIMEOUT: STARTUP_TIMEOUT, ...env })
        const outcome = yield* startClient(config, sessionUsesTls)
        return { ...outcome, ssl: Exit.isSuccess(outcome.exit) ? outcome.exit.value : undefined }
      })

    const viaUrl = (server: () => ThrowawayServer, params: Record<string, string>, host = "localhost") =>
      connect({ DATABASE_URL: server().url({ host, params }) })

    /** Fails at once, in one line that says `expected`, without the password. */
    const assertRefusedAtOnce = (
      outcome: { readonly exit: Exit.Exit<unknown, unknown>; readonly message: string; readonly elapsedMs: number },
      expected: RegExp
    ) => {
      assert.isTrue(Exit.isFailure(outcome.exit), "connected, but should have been refused")
      assert.match(outcome.message, expected)
      assert.notInclude(outcome.message, "\n")
      assert.notInclude(outcome.message, PASSWORD)
      assert.isBelow(outcome.elapsedMs, AT_ONCE_MS, `took ${outcome.elapsedMs} ms: ${outcome.message}`)
    }

    describe("a server with TLS", () => {
      it.live("require encrypts without checking the certificate (its CA is unknown here)", () =>
        Effect.gen(function* () {
          assert.isTrue((yield* viaUrl(() => withTls, { sslmode: "require" })).ssl)
          assert.isTrue((yield* viaUrl(() => withTls, { sslmode: "require" }, "127.0.0.1")).ssl)
        })
      )

      it.live("verify-full with the right CA connects encrypted (CA from the URL or from database.sslRootCert)", () =>
        Effect.gen(function* () {
          const { caCert } = certificates()
          assert.isTrue((yield* viaUrl(() => withTls, { sslmode: "verify-full", sslrootcert: caCert })).ssl)
          const fromConfig = yield* connect({
            DATABASE_URL: withTls.url({ params: { sslmode: "verify-full" } }),
            DATABASE_SSL_ROOT_CERT: caCert
          })
          assert.isTrue(fromConfig.ssl)
        })
      )

      it.live("verify-full with a CA that did not sign the certificate fails at once, in one line", () =>
        Effect.gen(function* () {
          const outcome = yield* viaUrl(() => withTls, {
            sslmode: "verify-full",
            sslrootcert: certificates().otherCaCert
          })
          assertRefusedAtOnce(outcome, /server certificate rejected: unable to verify the first certificate$/)
        })
      )

      it.live(
        "verify-full to a host name the certificate does not name fails at once; verify-ca does not check it",
        () =>
          Effect.gen(function* () {
            const { caCert } = certificates()
            const outcome = yield* viaUrl(() => withTls, { sslmode: "verify-full", sslrootcert: caCert }, "127.0.0.1")
            assertRefusedAtOnce(outcome, /server certificate rejected: it is for DNS:localhost, not 127\.0\.0\.1$/)
            assert.isTrue(
              (yield* viaUrl(() => withTls, { sslmode: "verify-ca", sslrootcert: caCert }, "127.0.0.1")).ssl
            )
          })
      )

      it.live("verify-ca, and require once a root certificate is given, refuse a certificate from another CA", () =>
        Effect.gen(function* () {
          const { otherCaCert } = certificates()
          for (const sslmode of ["verify-ca", "require"]) {
            const outcome = yield* viaUrl(() => withTls, { sslmode, sslrootcert: otherCaCert })
            assertRefusedAtOnce(outcome, /server certificate rejected/)
          }
        })
      )

      it.live("prefer encrypts without checking; with a root certificate that fails, it goes on in plaintext", () =>
        Effect.gen(function* () {
          assert.isTrue((yield* viaUrl(() => withTls, { sslmode: "prefer" })).ssl)
          assert.isTrue((yield* viaUrl(() => withTls, { sslmode: "allow" })).ssl)
          const fallBack = yield* viaUrl(() => withTls, {
            sslmode: "prefer",
            sslrootcert: certificates().otherCaCert
          })
          assert.isFalse(fallBack.ssl)
        })
      )

      it.live("disable stays in plaintext", () =>
        Effect.gen(function* () {
          assert.isFalse((yield* viaUrl(() => withTls, { sslmode: "disable" })).ssl)
        })
      )

      it.live("without a URL, database.ssl and database.sslRootCert say the same; true still means require", () =>
        Effect.gen(function* () {
          const server = {
            DATABASE_HOST: "localhost",
            DATABASE_PORT: String(withTls.port),
            DATABASE_PASSWORD: PASSWORD
          }
          const verified = yield* connect({
            ...server,
            DATABASE_SSL: "verify-full",
            DATABASE_SSL_ROOT_CERT: certificates().caCert
          })
          assert.isTrue(verified.ssl)
          assert.isTrue((yield* connect({ ...server, DATABASE_SSL: "true" })).ssl)
          assert.isFalse((yield* connect({ ...server, DATABASE_SSL: "false" })).ssl)
          const wrongCa = yield* connect({
            ...server,
            DATABASE_SSL: "verify-full",
            DATABASE_SSL_ROOT_CERT: certificates().otherCaCert
          })
          assertRefusedAtOnce(wrongCa, /server certificate rejected/)
        })
      )

      it.live("an sslmode in the URL wins over database.ssl", () =>
        Effect.gen(function* () {
          const outcome = yield* connect({
            DATABASE_URL: withTls.url({ params: { sslmode: "disable" } }),
            DATABASE_SSL: "require"
          })
          assert.isFalse(outcome.ssl)
        })
      )
    })

    describe("a server without TLS, and the health command", () => {
      it.live("disable, allow and prefer connect in plaintext", () =>
        Effect.gen(function* () {
          for (const sslmode of ["disable", "allow", "prefer"]) {
            assert.isFalse((yield* viaUrl(() => withoutTls, { sslmode })).ssl, sslmode)
          }
        })
      )

      it.live("require, verify-ca and verify-full fail at once, in one line", () =>
        Effect.gen(function* () {
          for (const sslmode of ["require", "verify-ca", "verify-full"]) {
            const outcome = yield* viaUrl(() => withoutTls, { sslmode, sslrootcert: certificates().caCert })
            assertRefusedAtOnce(outcome, /The server does not support TLS/)
          }
        })
      )

      it("health with sslmode=verify-full is down, not up (the reported bug)", async () => {
        const result = await runCli(["health"], {
          env: { DATABASE_URL: withoutTls.url({ params: { sslmode: "verify-full" } }), LOG_LEVEL: "warn" }
        })
        const report = JSON.parse(result.stdout) as { status: string; error?: string }
        assert.strictEqual(report.status, "down")
        assert.include(report.error ?? "", "The server does not support TLS")
        assert.strictEqual(result.code, 1)
        assert.notInclude(result.stdout + result.stderr, PASSWORD)
      })

      it("health with verify-full and the right CA against the TLS server is up", async () => {
        const result = await runCli(["health"], {
          env: {
            DATABASE_URL: withTls.url({ params: { sslmode: "verify-full" } }),
            DATABASE_SSL_ROOT_CERT: certificates().caCert,
            LOG_LEVEL: "warn"
          }
        })
        assert.strictEqual((JSON.parse(result.stdout) as { status: string }).status, "up", result.stderr)
        assert.strictEqual(result.code, 0)
      })
    })
  }
)
