/**
 * `npm run bench:percall`: what one call costs the client, library against raw effect/sql running the same
 * statement, in one process, one right after the other (issue 18). Figures that stay meaningful on a loaded
 * machine, because they count work rather than time it against the clock:
 * - client CPU per call (`process.cpuUsage`, user + system, over N calls);
 * - bytes allocated per call (heap used at the end − at the start + what every GC in between freed, from
 *   `v8.GCProfiler`, after a full GC so that no older garbage is counted);
 * - self time per call in effect's core runtime (`effect` outside `unstable/`) and in GC: their shares of the
 *   busy samples of a CPU profile of the same N calls (`node:inspector`, 100 µs sampling) times the CPU per call;
 * - statements sent per call (`Statement.CurrentTransformer` counts them), the batching figure.
 *
 * Knobs: BENCH_PERCALL_CALLS (default 2,000 calls per case; appendMany a fiftieth), BENCH_PERCALL_CALLERS
 * (default "1": comma-separated, e.g. "1,8,32" for the batching table), BENCH_ONLY (operation names),
 * BENCH_SMOKE=1 (small seed, 50 calls). When the library has the per-operation batching table
 * (`LookupBatching`), each batchable lookup is also run with the table turned all on ("library, batched") and
 * all off ("library, unbatched": one statement per caller).
 */
import { readFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { GCProfiler, getHeapStatistics, setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Exit, Layer, ManagedRuntime, Redacted, Scope } from "effect"
import { SqlClient, Statement } from "effect/sql"
import * as Kernel from "../src/index.ts"
import { libraryEnv } from "./Contenders/Library.ts"
import { rawCall } from "./Contenders/RawEffectSql.ts"
import { createNotesTable, makeNotes } from "./Entities.ts"
import { type LibraryApi, makeOperations, type Operation } from "./Operations.ts"
import { runStatement, withBenchDatabase } from "./Server.ts"
import { readSettings } from "./Settings.ts"
import { prepare } from "./Setup.ts"

const settings = readSettings()
const calls = Number(process.env.BENCH_PERCALL_CALLS || (settings.smoke ? 50 : 2_000))
const callerCounts = (process.env.BENCH_PERCALL_CALLERS || "1").split(",").map(Number)

type Run = (op: (i: number) => Effect.Effect<unknown, unknown>, callers: number, n: number) => Promise<void>

/** `n` calls, `callers` fibers each running its share back to back. */
const loop = (op: (i: number) => Effect.Effect<unknown, unknown>, callers: number, n: number) =>
  Effect.forEach(
    Array.from({ length: callers }, (_, caller) => caller),
    (caller) =>
      Effect.gen(function* () {
        for (let i = caller; i < n; i += callers) yield* op(i)
      }),
    { concurrency: "unbounded", discard: true }
  ).pipe(Effect.orDie)

interface Figures {
  readonly cpuMicros: number
  readonly serverMicros: number
  readonly bytes: number
  readonly effectCoreMicros: number
  readonly gcMicros: number
  readonly statements: number
}

const isEffectCore = (url: string) => /node_modules\/effect\/dist\//.test(url) && !url.includes("/unstable/")

/**
 * The shares of the busy samples (all but idle) of a CPU profile of `work` that fall in effect's core and in
 * the garbage collector. Shares of samples, not their wall-clock deltas: on a loaded machine the process is
 * descheduled between samples, which stretches the deltas but not the shares.
 */
const profiled = async (work: () => Promise<void>) => {
  const session = new Session()
  session.connect()
  await session.post("Profiler.enable")
  await session.post("Profiler.setSamplingInterval", { interval: 100 })
  await session.post("Profiler.start")
  await work()
  const { profile } = await session.post("Profiler.stop")
  session.disconnect()
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]))
  let busy = 0
  let effectCore = 0
  let gc = 0
  for (const id of profile.samples ?? []) {
    const frame = frames.get(id)
    if (frame === undefined || frame.functionName === "(idle)") continue
    busy++
    if (frame.functionName === "(garbage collector)") gc++
    else if (isEffectCore(frame.url)) effectCore++
  }
  return { effectCore: busy === 0 ? 0 : effectCore / busy, gc: busy === 0 ? 0 : gc / busy }
}

/**
 * CPU (user + system, µs) used so far by the server processes serving `database`, read from /proc: the
 * server runs on this machine and shares its cores with the client, so its work per call counts too. Clock
 * ticks (10 ms) summed over thousands of calls. `undefined` where /proc cannot be read (another host).
 */
const serverCpuMicros = async (database: string): Promise<number | undefined> => {
  const rows = await runStatement(
    adminUrl,
    `SELECT pid FROM pg_stat_activity WHERE datname = '${database}' AND pid <> pg_backend_pid()`
  )
  let ticks = 0
  try {
    for (const { pid } of rows) {
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      ticks += Number(fields[11]) + Number(fields[12])
    }
  } catch {
    return undefined
  }
  return (ticks * 1_000_000) / clockTicksPerSecond
}
const clockTicksPerSecond = 100
let adminUrl = ""

// `gc()` without starting node with --expose-gc: the flag set at run time, the function read from a new context.
setFlagsFromString("--expose-gc")
const collectGarbage = runInNewContext("gc") as () => void

const measure = async (
  database: string,
  run: Run,
  op: (i: number) => Effect.Effect<unknown, unknown>,
  callers: number,
  n: number
): Promise<Figures> => {
  // Statements: counted on a run of their own (the counting hook costs CPU too).
  let statements = 0
  const counter: Statement.Transformer = (statement) =>
    Effect.sync(() => {
      statements++
      return statement
    })
  await run((i) => Effect.provideService(op(i), Statement.CurrentTransformer, counter), callers, n)
  const serverBefore = await serverCpuMicros(database)
  // Garbage made before the window is collected first, so what the window's GCs free was allocated in it.
  collectGarbage()
  const gc = new GCProfiler()
  gc.start()
  const heapBefore = getHeapStatistics().used_heap_size
  const cpu = process.cpuUsage()
  await run(op, callers, n)
  const used = process.cpuUsage(cpu)
  const heapAfter = getHeapStatistics().used_heap_size
  const serverAfter = await serverCpuMicros(database)
  const freed = gc
    .stop()
    .statistics.reduce(
      (sum, entry) => sum + (entry.beforeGC.heapStatistics.usedHeapSize - entry.afterGC.heapStatistics.usedHeapSize),
      0
    )
  const shares = await profiled(() => run(op, callers, n))
  const cpuMicros = (used.user + used.system) / n
  return {
    cpuMicros,
    serverMicros:
      serverBefore === undefined || serverAfter === undefined ? Number.NaN : (serverAfter - serverBefore) / n,
    bytes: (heapAfter - heapBefore + freed) / n,
    statements: statements / n,
    effectCoreMicros: cpuMicros * shares.effectCore,
    gcMicros: cpuMicros * shares.gc
  }
}

// The batching table, when this version of the library has one (issue 18).
const batchingModule = (await import("../src/Database/Postgres/BatchedLookup.ts")) as {
  readonly LookupBatching?: unknown
  readonly BatchedLookups?: ReadonlyArray<string>
}
const batchable: Record<string, string> = {
  findById: "findById",
  findByEmail: "findByEmail",
  "hasPermission (no cache)": "hasPermission",
  findWithAccess: "findWithAccess"
}

/** The library; `batching` (when this version has the table) turns every batchable lookup on or off. */
const makeLibraryRuntime = (url: string, batching: boolean | undefined) => {
  const { Entity, PlatformKernel, RepositoryLayers, PermissionCache, UserRepository, AuditLogRepository } = Kernel
  const off =
    batching !== undefined && batchingModule.LookupBatching !== undefined
      ? Layer.succeed(
          batchingModule.LookupBatching as never,
          Object.fromEntries((batchingModule.BatchedLookups ?? []).map((name) => [name, batching])) as never
        )
      : Layer.empty
  const kernel = PlatformKernel.layerWith({ config: { env: libraryEnv(url) } }).pipe(Layer.provide(off))
  const runtime = ManagedRuntime.make(kernel)
  // The uncached repositories on the kernel's own pool, open until `close` (their store runs a fiber).
  const uncachedScope = Scope.makeUnsafe()
  const uncached = RepositoryLayers.layer.pipe(
    Layer.provide(Layer.succeed(PermissionCache, PermissionCache.off)),
    Layer.provide(off)
  )
  return {
    runtime,
    api: runtime.runPromise(
      Effect.gen(function* () {
        const built = yield* Layer.buildWithScope(uncached, uncachedScope)
        // The bench's own entity table (bench/Entities.ts), as the main bench builds it.
        yield* (yield* SqlClient.SqlClient).unsafe(createNotesTable)
        const notes = yield* Entity.makePg(makeNotes(Kernel)).pipe(Effect.provideService(Scope.Scope, uncachedScope))
        const api: LibraryApi = {
          notes,
          users: yield* UserRepository,
          audit: yield* AuditLogRepository,
          usersUncached: Context.get(built, UserRepository)
        }
        return api
      })
    ),
    close: async () => {
      await Effect.runPromise(Scope.close(uncachedScope, Exit.void))
      await runtime.dispose()
    }
  }
}

const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "–")

await withBenchDatabase(async (database) => {
  adminUrl = database.url
  const { library: setupLibrary, deep } = await prepare(database.url, settings.volume)
  const poolSize = setupLibrary.poolSize
  await setupLibrary.close()
  const operations = makeOperations(settings.volume, deep).filter(
    (operation) => settings.only === undefined || settings.only.has(operation.name)
  )
  const library = makeLibraryRuntime(database.url, undefined)
  const api = await library.api
  // Each batchable lookup is also run with the table turned all on and all off (when this version has one).
  const variants =
    batchingModule.LookupBatching === undefined
      ? []
      : await Promise.all(
          [
            { name: "library, batched", runtime: makeLibraryRuntime(database.url, true) },
            { name: "library, unbatched", runtime: makeLibraryRuntime(database.url, false) }
          ].map(async ({ name, runtime }) => ({ name, runtime, api: await runtime.api }))
        )
  const raw = ManagedRuntime.make(
    PgClient.layer({
      url: Redacted.make(database.url),
      maxConnections: poolSize,
      idleTimeout: "10 minutes",
      applicationName: "pk-bench-raw"
    })
  )
  const client = await raw.runPromise(
    Effect.gen(function* () {
      return yield* PgClient.PgClient
    })
  )
  const runOn =
    (runtime: { readonly runPromise: (effect: Effect.Effect<void>) => Promise<void> }): Run =>
    (op, callers, n) =>
      runtime.runPromise(loop(op, callers, n))
  const lines = [
    `## Per call: ${calls} calls per case, load average ${(await import("node:os")).loadavg()[0]!.toFixed(2)} at the start`,
    "",
    "| operation | callers | client | client CPU µs/call | effect-core self µs/call | GC µs/call | bytes/call | statements/call | server CPU µs/call |",
    "|---|---:|---|---:|---:|---:|---:|---:|---:|"
  ]
  const row = (operation: Operation, callers: number, name: string, figures: Figures) => {
    const line = `| ${operation.name} | ${callers} | ${name} | ${fmt(figures.cpuMicros)} | ${fmt(figures.effectCoreMicros)} | ${fmt(figures.gcMicros)} | ${fmt(figures.bytes, 0)} | ${fmt(figures.statements, 3)} | ${fmt(figures.serverMicros, 0)} |`
    lines.push(line)
    process.stderr.write(`${line}\n`)
  }
  for (const operation of operations) {
    const n = operation.name === "appendMany" ? Math.max(5, Math.round(calls / 50)) : calls
    for (const callers of operation.callers.length === 1 ? [1] : callerCounts) {
      const total = Math.max(n, callers)
      const contenders: Array<{
        readonly name: string
        readonly run: Run
        readonly op: (i: number) => Effect.Effect<unknown, unknown>
      }> = [
        { name: "library", run: runOn(library.runtime), op: (i) => operation.library(api, i) },
        ...(batchable[operation.name] === undefined
          ? []
          : variants.map((variant) => ({
              name: variant.name,
              run: runOn(variant.runtime.runtime),
              op: (i: number) => operation.library(variant.api, i)
            }))),
        { name: "raw effect/sql", run: runOn(raw), op: (i) => rawCall(client, operation, i) }
      ]
      // Every contender warmed up before any is measured: the code they share (effect, the driver) is then
      // as optimised for the first as for the last.
      for (const contender of contenders) await contender.run(contender.op, callers, Math.max(total, 200))
      for (const contender of contenders) {
        row(
          operation,
          callers,
          contender.name,
          await measure(database.name, contender.run, contender.op, callers, total)
        )
      }
    }
  }
  await library.close()
  for (const variant of variants) await variant.runtime.close()
  await raw.dispose()
  process.stdout.write(`${lines.join("\n")}\n`)
})
