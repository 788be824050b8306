/**
 * The library inside somebody else's process: importing it installs no signal or exit handler, a consumer's
 * own finalizers run on SIGTERM, and `serve` drains in-flight requests before it exits 0.
 */
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { request } from "node:http"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { withAdmin } from "../support/adminClient.ts"
import { freePort } from "../support/freePort.ts"
import { runScript } from "../support/NodeScript.ts"
import { adminUrl, databaseForFile } from "../support/TestDatabase.ts"
import { childEnv, REPO_ROOT, startCli, untilReady } from "./runCli.ts"

const INDEX = fileURLToPath(new URL("../../src/index.ts", import.meta.url))

const sessionsNamed = (applicationName: string) =>
  Effect.runPromise(
    withAdmin(adminUrl(), (admin) =>
      admin<{
        readonly count: number
      }>`SELECT count(*)::int AS count FROM pg_stat_activity WHERE application_name = ${applicationName}`.pipe(
        Effect.map((rows) => rows[0]?.count ?? -1)
      )
    )
  )

/** Polls until no session of `applicationName` is left, or returns how many there still are after `timeoutMs`. */
const sessionsLeft = async (applicationName: string, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const count = await sessionsNamed(applicationName)
    if (count === 0 || Date.now() > deadline) return count
    await new Promise((done) => setTimeout(done, 100))
  }
}

const database = databaseForFile()

describe("importing the package", () => {
  it("adds no process listener, timer or handle", async () => {
    const result = await runScript(
      `const events = ["SIGTERM", "SIGINT", "SIGHUP", "beforeExit", "exit", "uncaughtException", "unhandledRejection"]
       const snapshot = () => ({ listeners: events.map((e) => e + ":" + process.listenerCount(e)), resources: process.getActiveResourcesInfo().sort() })
       // Touch stdio first: its handles are made on first use, by whoever prints.
       void process.stdout, process.stderr
       const before = snapshot()
       await import(${JSON.stringify(INDEX)})
       console.log(JSON.stringify({ before, after: snapshot() }))`
    )
    const { before, after } = JSON.parse(result.stdout)
    expect(after).toEqual(before)
  })

  it("keeps the process's exit code", async () => {
    const result = await runScript(`await import(${JSON.stringify(INDEX)}); process.exitCode = 3`)
    expect(result.stderr).toBe("")
    expect(result.code).toBe(3)
  })

  it("installs no signal handler: a SIGHUP the service handles is not fatal", async () => {
    const result = await runScript(
      `await import(${JSON.stringify(INDEX)})
       process.on("SIGHUP", () => { console.log("reloaded"); setTimeout(() => process.exit(7), 100) })
       setInterval(() => {}, 1000)
       console.log("ready")`,
      { onStdout: (text, pid) => text === "ready\n" && process.kill(pid, "SIGHUP") }
    )
    expect(result.stdout).toContain("reloaded")
    expect(result.code).toBe(7)
  })

  it("leaves SIGTERM to the service: its finalizers run and the pool is closed", async () => {
    const applicationName = `pk_consumer_${randomBytes(4).toString("hex")}`
    const result = await runScript(
      `import { NodeRuntime } from "@effect/platform-node"
       import { Effect, Layer } from "effect"
       const { PlatformKernel, UserRepository } = await import(${JSON.stringify(INDEX)})
       const program = Effect.gen(function* () {
         // A finalizer that takes a while, as flushing a queue would: a global exit hook ends the process first.
         yield* Effect.addFinalizer(() => Effect.sleep("300 millis").pipe(Effect.andThen(Effect.sync(() => console.log("consumer finalizer ran")))))
         const users = yield* UserRepository
         yield* users.list({})
         console.log("ready")
         return yield* Effect.never
       }).pipe(Effect.scoped, Effect.provide(PlatformKernel.layer))
       NodeRuntime.runMain(program, { disableErrorReporting: true })`,
      {
        env: { DATABASE_URL: database.url(), DATABASE_APPLICATION_NAME: applicationName, LOG_LEVEL: "error" },
        onStdout: (text, pid) => text.endsWith("ready\n") && process.kill(pid, "SIGTERM")
      }
    )
    expect(result.stdout, result.stderr).toContain("consumer finalizer ran")
    // runMain reports an interrupted main fiber as 130, never the 143 of a process killed by the signal.
    expect(result.signal).toBe(null)
    expect(await sessionsLeft(applicationName)).toBe(0)
  })
})

interface Outcome {
  readonly startedBeforeSignal: boolean
  readonly status?: number
  readonly error?: string
}

/** One GET on a fresh connection, recording whether it got an answer or how it failed. */
const getOnce = (port: number, signalled: () => boolean) =>
  new Promise<Outcome>((resolve) => {
    const startedBeforeSignal = !signalled()
    const req = request({ host: "127.0.0.1", port, path: "/readyz", agent: false }, (response) => {
      response.resume()
      response.once("end", () => resolve({ startedBeforeSignal, status: response.statusCode ?? 0 }))
      response.once("error", (error: NodeJS.ErrnoException) =>
        resolve({ startedBeforeSignal, error: error.code ?? error.message })
      )
    })
    req.once("error", (error: NodeJS.ErrnoException) =>
      resolve({ startedBeforeSignal, error: error.code ?? error.message })
    )
    req.setTimeout(20_000, () => req.destroy(new Error("timeout")))
    req.end()
  })

describe("serve on SIGTERM under load", () => {
  it("answers every request it accepted, exits 0 within shutdown.timeout, and leaves no session", async () => {
    const httpPort = await freePort()
    const applicationName = `pk_drain_${randomBytes(4).toString("hex")}`
    const serve = startCli(["serve"], {
      env: {
        DATABASE_URL: database.url(),
        DATABASE_APPLICATION_NAME: applicationName,
        HTTP_HOST: "127.0.0.1",
        HTTP_PORT: String(httpPort),
        SHUTDOWN_TIMEOUT: "5 seconds",
        LOG_FORMAT: "json"
      },
      timeoutMs: 60_000
    })
    await untilReady(serve)

    let signalledAt: number | undefined
    const signalled = () => signalledAt !== undefined
    const outcomes: Array<Outcome> = []
    // 20 clients in a steady loop, each on fresh connections, until the server stops accepting.
    const clients = Array.from({ length: 20 }, async () => {
      for (;;) {
        const outcome = await getOnce(httpPort, signalled)
        outcomes.push(outcome)
        if (outcome.error !== undefined && signalled()) return
      }
    })
    await new Promise((done) => setTimeout(done, 1_000))
    signalledAt = Date.now()
    serve.child.kill("SIGTERM")
    const result = await serve.exited
    await Promise.all(clients)
    const exitSeconds = (Date.now() - signalledAt) / 1000

    const accepted = outcomes.filter((outcome) => outcome.startedBeforeSignal && outcome.error !== "ECONNREFUSED")
    const unanswered = accepted.filter((outcome) => outcome.status === undefined)
    console.info(
      `drain: ${outcomes.length} requests, ${accepted.length} accepted before SIGTERM, ${accepted.length - unanswered.length} answered, ${unanswered.length} reset; exit ${result.code} after ${exitSeconds.toFixed(2)} s`
    )
    expect(unanswered, JSON.stringify(unanswered)).toEqual([])
    expect(accepted.length).toBeGreaterThan(20)
    expect(result.code, result.stderr).toBe(0)
    expect(exitSeconds).toBeLessThan(5 + 2)
    expect(await sessionsLeft(applicationName)).toBe(0)
  })
})

describe("npm start", () => {
  it("hands SIGTERM to the node process, which shuts down cleanly instead of being orphaned", async () => {
    const httpPort = await freePort()
    const child = spawn("npm", ["start", "--", "serve"], {
      cwd: REPO_ROOT,
      env: childEnv({
        DATABASE_URL: database.url(),
        HTTP_HOST: "127.0.0.1",
        HTTP_PORT: String(httpPort),
        LOG_FORMAT: "json"
      }),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
    })
    child.stderr.resume()
    // "exit", not "close": an orphaned server would keep npm's output pipe open for ever.
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)))
    const deadline = Date.now() + 90_000
    while (!stdout.includes('"message":"ready"')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`npm start not ready:\n${stdout}`)
      await new Promise((done) => setTimeout(done, 100))
    }
    child.kill("SIGTERM")
    const code = await exited
    // Nothing listens any more: the server went down with npm, not later and not never.
    const refused = await getOnce(httpPort, () => false)
    expect(refused.error).toBe("ECONNREFUSED")
    expect(stdout).toContain('"message":"shutting down"')
    expect(code).toBe(0)
  }, 120_000)
})
