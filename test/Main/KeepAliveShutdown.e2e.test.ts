/**
 * `serve` on SIGTERM under keep-alive clients, as load balancers and probes are: no request it accepted is
 * reset or left unanswered, every response during the drain says `Connection: close`, and the process exits
 * as soon as the last in-flight response is written, not at `shutdown.timeout`.
 */
import { randomBytes } from "node:crypto"
import { Agent, request } from "node:http"
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { withAdmin } from "../support/adminClient.ts"
import { freePort } from "../support/freePort.ts"
import { adminUrl, databaseForFile } from "../support/TestDatabase.ts"
import { MIGRATIONS_TABLE } from "../support/urls.ts"
import { jsonLines, startCli, untilReady } from "./runCli.ts"

const CLIENTS = 20
const DRAIN_DELAY_S = 1
// Far above what the drain needs: today's code exits only when it runs out.
const SHUTDOWN_TIMEOUT_S = 20
// The slow database answers each check at the health timeout.
const SLOW_REQUEST_S = 3
// Allowed on top of drainDelay + the slowest request + 0.5 s: the process's own teardown on a loaded machine.
const LOAD_MARGIN_S = 1.5

const database = databaseForFile()

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

/**
 * Holds `table` of `url` locked (ACCESS EXCLUSIVE, in a transaction of another session) from when `locked`
 * settles until `release` is called.
 */
const holdLock = (url: string, table: string) => {
  let release!: () => void
  const released = new Promise<void>((done) => {
    release = done
  })
  let locked!: () => void
  const isLocked = new Promise<void>((done) => {
    locked = done
  })
  const holding = Effect.runPromise(
    withAdmin(url, (admin) =>
      admin.withTransaction(
        admin
          .unsafe(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`)
          .pipe(Effect.andThen(Effect.sync(locked)), Effect.andThen(Effect.promise(() => released)))
      )
    )
  )
  return {
    locked: Promise.race([isLocked, holding]),
    release: () => {
      release()
      return holding
    }
  }
}

interface Outcome {
  readonly sentAt: number
  readonly answeredAt?: number
  readonly status?: number
  readonly connectionClose?: boolean
  readonly error?: string
}

/** One GET /readyz through `agent` (a kept-alive connection when it has one). */
const get = (port: number, agent: Agent) =>
  new Promise<Outcome>((resolve) => {
    const sentAt = Date.now()
    const req = request({ host: "127.0.0.1", port, path: "/readyz", agent }, (response) => {
      response.resume()
      response.once("end", () =>
        resolve({
          sentAt,
          answeredAt: Date.now(),
          status: response.statusCode ?? 0,
          connectionClose: response.headers.connection === "close"
        })
      )
      response.once("error", (error: NodeJS.ErrnoException) => resolve({ sentAt, error: error.code ?? error.message }))
    })
    req.once("error", (error: NodeJS.ErrnoException) => resolve({ sentAt, error: error.code ?? error.message }))
    req.setTimeout(SHUTDOWN_TIMEOUT_S * 2_000, () => req.destroy(new Error("timeout")))
    req.end()
  })

/**
 * Starts `serve`, runs `CLIENTS` keep-alive clients polling /readyz back to back, signals SIGTERM once
 * `beforeSignal` has settled, and follows every request until the clients are refused.
 */
const drainUnderKeepAlive = async (options: {
  readonly env?: Record<string, string>
  readonly beforeSignal: (port: number) => Promise<void>
}) => {
  const httpPort = await freePort()
  const applicationName = `pk_keepalive_${randomBytes(4).toString("hex")}`
  const serve = startCli(["serve"], {
    env: {
      DATABASE_URL: database.url(),
      DATABASE_APPLICATION_NAME: applicationName,
      DATABASE_MIGRATIONS_TABLE: MIGRATIONS_TABLE,
      HTTP_HOST: "127.0.0.1",
      HTTP_PORT: String(httpPort),
      SHUTDOWN_DRAIN_DELAY: `${DRAIN_DELAY_S} seconds`,
      SHUTDOWN_TIMEOUT: `${SHUTDOWN_TIMEOUT_S} seconds`,
      LOG_FORMAT: "json",
      ...options.env
    },
    timeoutMs: 90_000
  })
  await untilReady(serve)

  let signalledAt: number | undefined
  const outcomes: Array<Outcome> = []
  const agents = Array.from({ length: CLIENTS }, () => new Agent({ keepAlive: true, maxSockets: 1 }))
  // Each client keeps its connection and asks again as soon as it has its answer, until it is refused.
  const clients = agents.map(async (agent) => {
    for (;;) {
      const outcome = await get(httpPort, agent)
      outcomes.push(outcome)
      if (outcome.error !== undefined && signalledAt !== undefined) return
    }
  })
  await options.beforeSignal(httpPort)
  signalledAt = Date.now()
  serve.child.kill("SIGTERM")
  const result = await serve.exited
  const exitSeconds = (Date.now() - signalledAt) / 1000
  await Promise.all(clients)
  for (const agent of agents) agent.destroy()

  const failed = outcomes.filter((outcome) => outcome.error !== undefined)
  // A refused connection was never accepted; anything else that failed was accepted and not answered.
  const resets = failed.filter((outcome) => outcome.error !== "ECONNREFUSED")
  const answered = outcomes.filter((outcome) => outcome.status !== undefined)
  // serve drains before it logs "shutting down": what was sent after that line is answered while draining.
  const shuttingDown = jsonLines(result.stdout).find((line) => line.message === "shutting down")
  if (shuttingDown === undefined) throw new Error(`serve did not log "shutting down":\n${result.stdout}`)
  const drainingAt = Date.parse(String(shuttingDown.timestamp))
  const answeredInDrain = answered.filter((outcome) => outcome.sentAt > drainingAt)
  const answeredAfterDrainBegan = answered.filter((outcome) => outcome.answeredAt! > drainingAt)
  const slowestSeconds =
    answered.reduce((slowest, outcome) => Math.max(slowest, outcome.answeredAt! - outcome.sentAt), 0) / 1000
  return {
    result,
    exitSeconds,
    slowestSeconds,
    resets,
    answered,
    answeredInDrain,
    answeredAfterDrainBegan,
    sessionsLeft: () => sessionsNamed(applicationName),
    summary: `${outcomes.length} requests, ${answered.length} answered (${answeredInDrain.length} sent during the drain), ${resets.length} reset or unanswered, ${failed.length - resets.length} refused; slowest ${slowestSeconds.toFixed(2)} s; exit ${result.code} after ${exitSeconds.toFixed(2)} s`
  }
}

/** Polls until no session of the run is left, or how many there still are after 5 s. */
const sessionsLeft = async (count: () => Promise<number>) => {
  const deadline = Date.now() + 5_000
  for (;;) {
    const left = await count()
    if (left === 0 || Date.now() > deadline) return left
    await new Promise((done) => setTimeout(done, 100))
  }
}

describe("serve on SIGTERM under keep-alive clients", () => {
  it("fast database: no reset, Connection: close during the drain, exit right after the drain", async () => {
    const run = await drainUnderKeepAlive({
      beforeSignal: () => new Promise((done) => setTimeout(done, 1_000))
    })
    console.info(`keep-alive drain, fast database: ${run.summary}`)
    expect(run.resets, JSON.stringify(run.resets.slice(0, 5))).toEqual([])
    expect(run.answeredInDrain.length).toBeGreaterThan(0)
    expect(run.answeredInDrain.filter((outcome) => outcome.connectionClose !== true)).toEqual([])
    expect(run.result.code, run.result.stderr).toBe(0)
    expect(run.exitSeconds).toBeLessThan(DRAIN_DELAY_S + run.slowestSeconds + 0.5 + LOAD_MARGIN_S)
    expect(await sessionsLeft(run.sessionsLeft)).toBe(0)
  }, 90_000)

  it("slow database: the requests in flight are answered, then the process exits without waiting out shutdown.timeout", async () => {
    // The check's second statement reads the migrations table: held locked, every check answers "down" at
    // the health timeout.
    // Taken once serve is ready: its startup reads the table.
    let lock: ReturnType<typeof holdLock> | undefined
    try {
      const run = await drainUnderKeepAlive({
        env: { DATABASE_HEALTH_TIMEOUT: `${SLOW_REQUEST_S} seconds` },
        beforeSignal: async () => {
          lock = holdLock(database.url(), MIGRATIONS_TABLE)
          await lock.locked
          // Every client has a request waiting on the lock when the signal comes.
          await new Promise((done) => setTimeout(done, 1_000))
        }
      })
      console.info(`keep-alive drain, slow database: ${run.summary}`)
      expect(run.resets, JSON.stringify(run.resets.slice(0, 5))).toEqual([])
      // The requests on their way when the signal came were all answered, after the slow check.
      expect(run.slowestSeconds).toBeGreaterThanOrEqual(SLOW_REQUEST_S - 0.5)
      // Each was prepared while draining, so its connection was closed right after it.
      expect(run.answeredAfterDrainBegan.length).toBeGreaterThanOrEqual(CLIENTS)
      expect(run.answeredAfterDrainBegan.filter((outcome) => outcome.connectionClose !== true)).toEqual([])
      expect(run.result.code, run.result.stderr).toBe(0)
      expect(run.exitSeconds).toBeLessThan(DRAIN_DELAY_S + run.slowestSeconds + 0.5 + LOAD_MARGIN_S)
      expect(await sessionsLeft(run.sessionsLeft)).toBe(0)
    } finally {
      await lock?.release()
    }
  }, 90_000)
})
