/**
 * `serve` with no database configured: it creates and starts its own PostgreSQL, serves, and on SIGTERM
 * stops it again, leaving no server process and a free port behind.
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { afterAll } from "vitest"
import { freePort } from "../support/freePort.ts"
import { type CliResult, getJson, jsonLines, pollUntil, runCli, startCli } from "./runCli.ts"

const SHUTDOWN_TIMEOUT_MS = 3_000
// Stopping the embedded server (a fast shutdown) comes on top of the HTTP shutdown.
const MARGIN_MS = 15_000

// The server runs as the "postgres" user when the tests run as root: it must be able to reach its directory.
const dataRoot = mkdtempSync(join(tmpdir(), "pk-embedded-e2e-"))
chmodSync(dataRoot, 0o755)
afterAll(() => rmSync(dataRoot, { recursive: true, force: true }))

const describeRun = (result: CliResult) =>
  `exit ${result.code} (signal ${result.signal}, timed out ${result.timedOut})\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`

/** Command lines of the running processes that mention `text`. */
const processesMentioning = (text: string): ReadonlyArray<string> =>
  readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return []
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim()
      return commandLine.includes(text) ? [`${entry}: ${commandLine}`] : []
    } catch {
      return []
    }
  })

const listen = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => resolve(server))
  })

const closeServer = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()))

/** Whether something can listen on `port` of 127.0.0.1 right now. */
const portIsFree = (port: number) =>
  listen(port).then(
    (server) => closeServer(server).then(() => true),
    () => false
  )

const startServe = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => startCli(["serve"], { env, timeoutMs: 150_000 })),
    (running) =>
      Effect.promise(async () => {
        if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill("SIGTERM")
        await running.exited
      })
  )

/**
 * One `serve` run on `dataDir`: ready, probes, SIGTERM, and nothing left behind. `firstRun` says whether it
 * must create the cluster (initdb) or reuse the one a previous run left.
 */
const serveOnce = (dataDir: string, databasePort: number, firstRun: boolean) =>
  Effect.gen(function* () {
    const httpPort = yield* Effect.promise(freePort)
    const serve = yield* startServe({
      DATABASE_EMBEDDED_DATA_DIR: dataDir,
      DATABASE_EMBEDDED_PORT: String(databasePort),
      HTTP_HOST: "127.0.0.1",
      HTTP_PORT: String(httpPort),
      LOG_FORMAT: "json",
      SHUTDOWN_TIMEOUT: `${SHUTDOWN_TIMEOUT_MS} millis`
    })
    const ready = yield* Effect.promise(() =>
      pollUntil(
        "GET /readyz answers 200",
        async () => {
          const response = await getJson(`http://127.0.0.1:${httpPort}/readyz`)
          return response.status === 200 ? response : undefined
        },
        {
          // The first start includes initdb.
          timeoutMs: 90_000,
          intervalMs: 250,
          abort: () =>
            serve.child.exitCode !== null ? `serve exited ${serve.child.exitCode}: ${serve.stderr()}` : undefined
        }
      )
    )
    const report = ready.body as { status: string; migrations: unknown }
    assert.strictEqual(report.status, "up")
    assert.deepStrictEqual(report.migrations, { latest: 3, pending: 0 })
    assert.isTrue(existsSync(join(dataDir, "PG_VERSION")), "the cluster is not in the configured data dir")
    assert.isAtLeast(processesMentioning(dataDir).length, 1, "no postgres process runs on the data dir")
    assert.isFalse(yield* Effect.promise(() => portIsFree(databasePort)), "nothing listens on the embedded port")
    if (firstRun) {
      // `health` finds the server `serve` started (through the kept password) instead of starting another.
      const health = yield* Effect.promise(() =>
        runCli(["health"], {
          env: { DATABASE_EMBEDDED_DATA_DIR: dataDir, DATABASE_EMBEDDED_PORT: String(databasePort) },
          timeoutMs: 30_000
        })
      )
      assert.strictEqual(health.code, 0, describeRun(health))
      assert.strictEqual(JSON.parse(health.stdout.trim()).status, "up")
    }

    const signalledAt = Date.now()
    serve.child.kill("SIGTERM")
    const result = yield* Effect.promise(() => serve.exited)
    const shutdownMs = Date.now() - signalledAt
    assert.isFalse(result.timedOut, describeRun(result))
    assert.strictEqual(result.code, 0, describeRun(result))
    assert.isBelow(shutdownMs, SHUTDOWN_TIMEOUT_MS + MARGIN_MS)

    const messages = jsonLines(result.stdout).map((line) => line.message)
    assert.includeMembers(messages, [
      "embedded PostgreSQL ready",
      "ready",
      "shutting down",
      "embedded PostgreSQL stopped"
    ])
    assert.strictEqual(messages.includes("creating the embedded PostgreSQL cluster"), firstRun)
    assert.isBelow(messages.indexOf("shutting down"), messages.indexOf("embedded PostgreSQL stopped"))
    // The cluster's password (kept beside the data dir) is never printed.
    const password = readFileSync(`${dataDir}.password`, "utf8").trim()
    assert.isAbove(password.length, 8)
    assert.notInclude(result.stdout + result.stderr, password)

    // The server was stopped (not left behind), cleanly: no process on the data dir, no pid file, free port.
    assert.deepStrictEqual(processesMentioning(dataDir), [])
    assert.isFalse(existsSync(join(dataDir, "postmaster.pid")), "postmaster.pid left behind")
    assert.isTrue(yield* Effect.promise(() => portIsFree(databasePort)), "the embedded port is still taken")
    return password
  }).pipe(Effect.scoped)

describe("serve with the embedded PostgreSQL", () => {
  it.live(
    "creates and starts its own server, becomes ready, and on SIGTERM exits 0 leaving no server process and a free port; a restart reuses the cluster",
    () =>
      Effect.gen(function* () {
        const dataDir = join(dataRoot, "data")
        const databasePort = yield* Effect.promise(freePort)
        const password = yield* serveOnce(dataDir, databasePort, true)
        // The data (and its password) survive: the second run starts the same cluster without initdb.
        assert.strictEqual(yield* serveOnce(dataDir, databasePort, false), password)
      }),
    { timeout: 200_000 }
  )

  it.live("refuses to start when the embedded port is taken, saying so in one line", () =>
    Effect.gen(function* () {
      const databasePort = yield* Effect.promise(freePort)
      const blocker = yield* Effect.acquireRelease(
        Effect.promise(() => listen(databasePort)),
        (server) => Effect.promise(() => closeServer(server))
      )
      const serve = yield* startServe({
        DATABASE_EMBEDDED_DATA_DIR: join(dataRoot, "blocked"),
        DATABASE_EMBEDDED_PORT: String(databasePort),
        HTTP_HOST: "127.0.0.1",
        HTTP_PORT: String(yield* Effect.promise(freePort))
      })
      const result = yield* Effect.promise(() => serve.exited)
      assert.isFalse(result.timedOut, describeRun(result))
      assert.notStrictEqual(result.code, 0, describeRun(result))
      const lines = result.stderr.split("\n").filter((line) => line.trim() !== "")
      assert.strictEqual(lines.length, 1, describeRun(result))
      assert.match(
        lines[0]!,
        new RegExp(`^platform-kernel: embedded PostgreSQL: port ${databasePort} on 127\\.0\\.0\\.1 is already in use`)
      )
      assert.notMatch(result.stderr, /^\s+at /m)
      // Nothing was created or started.
      assert.isFalse(existsSync(join(dataRoot, "blocked", "PG_VERSION")))
      assert.deepStrictEqual(processesMentioning(join(dataRoot, "blocked")), [])
      void blocker
    }).pipe(Effect.scoped)
  )
})
