/**
 * How long a revocation committed in one process takes to be seen by `hasPermission` in another, both on
 * `PlatformKernel.layerWith` with the permission cache on (the default): issue 11 asks for 50 ms at the 99th
 * percentile. This process grants and revokes through its repositories; a second process (this file with
 * `--watcher`) keeps checking, from its cache, until the answer changes. A revocation's latency runs from
 * just before the revoking call starts (so it includes the revoking transaction itself) to the watcher's
 * first `false`; both read the same machine's clock.
 *
 *   node bench/CacheStaleness.ts                   # a fresh database on TEST_DATABASE_URL's server (or embedded)
 *   BENCH_STALENESS_REVOCATIONS=500 node bench/CacheStaleness.ts
 *
 * `npm run bench` runs it too and prints the figures under its tables.
 */
import { type ChildProcess, fork } from "node:child_process"
import { randomBytes } from "node:crypto"
import { fileURLToPath } from "node:url"
import { Effect, ManagedRuntime, Metric, Redacted } from "effect"
import { cacheHits } from "../src/Database/Access/PermissionCache.ts"
import {
  PermissionCache,
  PermissionRepository,
  PlatformKernel,
  RoleRepository,
  type UserId,
  UserRepository
} from "../src/index.ts"
import { libraryEnv } from "./Contenders/Library.ts"

/** What the watcher is asked: wait until `userId` is (or is not) allowed `permission`, then say when. */
interface Watch {
  readonly round: number
  readonly userId: string
  readonly permission: string
  readonly until: boolean
}

type WatcherMessage =
  | { readonly kind: "ready" }
  | { readonly kind: "watching"; readonly round: number }
  | { readonly kind: "seen"; readonly round: number; readonly at: number }

const now = () => performance.timeOrigin + performance.now()
// setImmediate: a check per turn of the event loop, so the notification's socket is read between two checks.
const nextTurn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** Percentiles of latencies, in milliseconds. */
export interface Percentiles {
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
}

/** The figures of one run. */
export interface Staleness {
  readonly revocations: number
  /** From just before the revoking call starts (its own transaction included). */
  readonly fromCall: Percentiles
  /** From the revoking call's return (its COMMIT acknowledged); negative when the watcher saw it first. */
  readonly fromCommit: Percentiles
  /** Checks the watcher answered from its cache in the whole run (it was not merely polling the database). */
  readonly watcherHits: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!

const summary = (latencies: ReadonlyArray<number>): Percentiles => {
  const sorted = latencies.toSorted((a, b) => a - b)
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1)! }
}

const kernel = (url: string) => ManagedRuntime.make(PlatformKernel.layerWith({ config: { env: libraryEnv(url) } }))

/** Measures `revocations` revocations on the database at `url` (migrated by the library if needed). */
export const measureStaleness = async (url: string, revocations: number): Promise<Staleness> => {
  const runtime = kernel(url)
  let watcher: ChildProcess | undefined
  try {
    const token = randomBytes(4).toString("hex")
    const { user, role, permission } = await runtime.runPromise(
      Effect.gen(function* () {
        const users = yield* UserRepository
        const roles = yield* RoleRepository
        const permissions = yield* PermissionRepository
        const user = yield* users.create({ email: `staleness-${token}@example.io`, passwordHash: Redacted.make("x") })
        const role = yield* roles.create({ name: `staleness-${token}` })
        const permission = yield* permissions.create({ name: `bench.staleness_${token}.read` })
        yield* users.assignRole(user.id, role.id)
        return { user, role, permission }
      })
    )
    const child = fork(fileURLToPath(import.meta.url), ["--watcher"], {
      env: { ...process.env, STALENESS_URL: url },
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    watcher = child
    const messages: Array<WatcherMessage> = []
    let wake: (() => void) | undefined
    child.on("message", (message: WatcherMessage) => {
      messages.push(message)
      wake?.()
    })
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code) => reject(new Error(`the watcher exited (${code})`)))
    )
    const next = async <K extends WatcherMessage["kind"]>(kind: K): Promise<Extract<WatcherMessage, { kind: K }>> => {
      for (;;) {
        const index = messages.findIndex((message) => message.kind === kind)
        if (index >= 0) return messages.splice(index, 1)[0] as Extract<WatcherMessage, { kind: K }>
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), exited])
      }
    }
    await next("ready")
    const grant = RoleRepository.use((roles) => roles.grant(role.id, permission.id))
    const revoke = RoleRepository.use((roles) => roles.revoke(role.id, permission.id))
    const watch = (round: number, until: boolean) =>
      child.send({ round, userId: user.id, permission: permission.name, until } satisfies Watch)
    const latencies: Array<number> = []
    const afterCommit: Array<number> = []
    for (let round = 0; round < revocations; round++) {
      await runtime.runPromise(grant)
      watch(round, true)
      await next("seen")
      // The watcher now holds "allowed" in its cache and checks until it is not.
      watch(round, false)
      await next("watching")
      const start = now()
      await runtime.runPromise(revoke)
      const committed = now()
      const { at } = await next("seen")
      latencies.push(at - start)
      afterCommit.push(at - committed)
    }
    child.send("hits")
    const { round: watcherHits } = await next("watching")
    return { revocations, fromCall: summary(latencies), fromCommit: summary(afterCommit), watcherHits }
  } finally {
    watcher?.kill()
    await runtime.dispose()
  }
}

/** The watcher process: checks from its own kernel (its own cache and listener) until told answers change. */
const runWatcher = async () => {
  const runtime = kernel(process.env.STALENESS_URL!)
  const send = (message: WatcherMessage) => process.send!(message)
  const { users, cache } = await runtime.runPromise(
    Effect.gen(function* () {
      return { users: yield* UserRepository, cache: yield* PermissionCache }
    })
  )
  process.on("message", (message: Watch | "hits") => {
    if (message === "hits") {
      void runtime.runPromise(Metric.value(cacheHits)).then(({ count }) => send({ kind: "watching", round: count }))
      return
    }
    const check = users.hasPermission(message.userId as UserId, message.permission)
    void runtime.runPromise(
      Effect.gen(function* () {
        if (!message.until) {
          // Prove the current answer is served from the cache before the revocation starts.
          if ((yield* check) !== true) return yield* Effect.die("not allowed before the revocation")
          if ((yield* cache.status).users === 0) return yield* Effect.die("nothing cached before the revocation")
          send({ kind: "watching", round: message.round })
        }
        while ((yield* check) !== message.until) yield* nextTurn
        send({ kind: "seen", round: message.round, at: now() })
      })
    )
  })
  send({ kind: "ready" })
}

if (process.argv.includes("--watcher")) {
  await runWatcher()
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { withBenchDatabase } = await import("./Server.ts")
  const revocations = Number(process.env.BENCH_STALENESS_REVOCATIONS ?? 200)
  const result = await withBenchDatabase((database) => measureStaleness(database.url, revocations))
  console.log(formatStaleness(result))
}

/** One line for the report. */
export function formatStaleness(result: Staleness): string {
  const ms = (value: number) => `${value.toFixed(1)} ms`
  const line = ({ p50, p90, p99, max }: Percentiles) => `p50 ${ms(p50)}, p90 ${ms(p90)}, p99 ${ms(p99)}, max ${ms(max)}`
  return `Permission cache staleness across two processes (${result.revocations} revocations; until the other process's first \`false\`): from the revoking call's start ${line(result.fromCall)}; from its return (COMMIT acknowledged) ${line(result.fromCommit)}. The watcher answered ${result.watcherHits.toLocaleString("en")} checks from its cache.`
}
