/**
 * `npm run bench`: issue 11's table. Every operation of the library (through its public API) against the
 * same statement through the raw driver (@effect/sql-pg), postgres.js and pgbench (the C client), at 1 and
 * 32 callers, in interleaved rounds on a seeded database; medians, ratios, client CPU per operation, the
 * load average, `serve`'s readiness and the peak RSS under load. Knobs: see Settings.ts.
 *
 *   npm run bench                                   # TEST_DATABASE_URL's server, else an embedded one
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench
 *   BENCH_ONLY=hasPermission,findById BENCH_SECONDS=5 npm run bench
 *   BENCH_SMOKE=1 npm run -s bench                  # CI: proves the harness runs, in well under a minute
 *   node bench/CacheStaleness.ts                    # only the permission cache's staleness across two processes
 */
import { loadavg } from "node:os"
import { ensureBuilt } from "./Build.ts"
import { formatStaleness, measureStaleness } from "./CacheStaleness.ts"
import type { Contender } from "./Contenders/Contender.ts"
import { findPgbench, makePgbench } from "./Contenders/Pgbench.ts"
import { makeCopy, makePostgresJs } from "./Contenders/PostgresJs.ts"
import { makeRawEffectSql } from "./Contenders/RawEffectSql.ts"
import { HotMix, runLoadChild } from "./Memory.ts"
import { makeOperations } from "./Operations.ts"
import { formatLoads, type RoundLoad, ratiosWithheldReason, settle } from "./Quiet.ts"
import { measureReadiness } from "./Readiness.ts"
import { type CaseResult, Contenders, cpuTable, errorLines, ratioTable, throughputTable } from "./Report.ts"
import { withBenchDatabase } from "./Server.ts"
import { readSettings } from "./Settings.ts"
import { prepare } from "./Setup.ts"
import { checkSqlSync } from "./SqlSync.ts"

const settings = readSettings()
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(" ")
const log = (line: string) => process.stderr.write(`bench: ${line}\n`)

ensureBuilt(log)
const loadAtStart = load()
const pgbench = findPgbench()

const exitCode = await withBenchDatabase(async (database) => {
  log(`database ${database.name} on the ${database.serverKind} server; seeding`)
  const { library, deep, seedSeconds } = await prepare(database.url, settings.volume)
  const operations = makeOperations(settings.volume, deep).filter(
    (operation) => settings.only === undefined || settings.only.has(operation.name)
  )
  const drifts = await checkSqlSync(library, operations)

  const contenders: Array<Contender> = [
    library,
    await makeRawEffectSql(database.url, library.poolSize),
    makePostgresJs(database.url, library.poolSize),
    makeCopy(database.url, library.poolSize),
    ...(pgbench === undefined ? [] : [makePgbench(pgbench, database.url)])
  ]
  const results: Array<CaseResult> = operations.flatMap((operation) =>
    operation.callers.map((callers) => ({ operation, callers, samples: new Map(), errors: new Map() }))
  )
  const roundLoads: Array<RoundLoad> = []
  try {
    for (let round = 0; round < settings.rounds; round++) {
      roundLoads.push({ round: round + 1, load: await settle(settings.maxLoad, settings.quietWaitSeconds, log) })
      log(`round ${round + 1} of ${settings.rounds}, load average ${load()}`)
      for (const result of results) {
        // Each round starts with another contender, so warm-up and drift favour none.
        const order = contenders.map((_, index) => contenders[(index + round) % contenders.length]!)
        for (const contender of order) {
          if (!contender.runs(result.operation) || result.errors.has(contender.name)) continue
          try {
            const sample = await contender.measure(result.operation, result.callers, settings.seconds)
            result.samples.set(contender.name, [...(result.samples.get(contender.name) ?? []), sample])
          } catch (error) {
            result.errors.set(contender.name, String(error instanceof Error ? error.message : error).split("\n")[0]!)
          }
        }
      }
    }
  } finally {
    for (const contender of contenders.slice(1)) await contender.close()
  }

  log("timing serve's readiness")
  const readiness = await measureReadiness(database.url, settings.readinessRuns)
  log(`timing ${settings.stalenessRevocations} revocations across two processes (permission cache)`)
  const staleness = await measureStaleness(database.url, settings.stalenessRevocations)
  log("measuring peak RSS under 32-way load")
  const memorySpec = {
    url: database.url,
    seconds: settings.rssSeconds,
    callers: 32,
    poolSize: library.poolSize,
    operations: HotMix,
    volume: settings.volume
  }
  await library.close()
  const libraryMemory = await runLoadChild({ ...memorySpec, kind: "library" })
  const rawMemory = await runLoadChild({ ...memorySpec, kind: "raw" })

  const withheld = ratiosWithheldReason(roundLoads, settings.maxLoad)
  if (withheld !== undefined) log(withheld.replaceAll("**", ""))
  const names = [Contenders.library, Contenders.raw, Contenders.postgresJs, Contenders.pgbench, Contenders.copy]
  const { volume } = settings
  const report = [
    `## Benchmark${settings.smoke ? " (smoke: the figures mean nothing)" : ""}`,
    "",
    `${new Date().toISOString()}, Node ${process.version}, ${database.serverKind} server; ${settings.rounds} interleaved round(s) of ${settings.seconds} s per contender per case; medians.`,
    `Seeded in ${seedSeconds.toFixed(1)} s: ${volume.users.toLocaleString("en")} users, ${volume.roles} roles × ${volume.permissionsPerRole} permissions, 2 roles per user, ${volume.auditRows.toLocaleString("en")} audit rows. Pool: ${library.poolSize} connections for each in-process client; pgbench opens one per caller.`,
    `Load average (1/5/15 min): ${loadAtStart} at start, ${load()} at end; 1-minute at each round's start: ${formatLoads(roundLoads)} (ratios are reported only when every round started at or below ${settings.maxLoad}).`,
    pgbench === undefined
      ? "**pgbench not found (install the PostgreSQL client): its column is n/a.**"
      : `pgbench: ${pgbench}.`,
    "",
    withheld ?? ratioTable(results),
    "",
    "Throughput (operations per second; appendMany: calls of 1,000 rows):",
    "",
    throughputTable(results, names),
    "",
    "Client CPU per operation (µs, user + system; in-process clients: process.cpuUsage over the run; pgbench: its own, from `times`):",
    "",
    cpuTable(results, names),
    "",
    `Readiness of \`serve\` (spawn to "ready", on the benchmark server given by URL, median of ${settings.readinessRuns}): ${readiness
      .map(
        ({ entry, medianMillis, millis }) =>
          `${entry} ${(medianMillis / 1000).toFixed(2)} s [${millis.map((ms) => (ms / 1000).toFixed(2)).join(", ")}]`
      )
      .join("; ")}.`,
    formatStaleness(staleness),
    `Peak RSS (VmHWM) after ${settings.rssSeconds} s at 32 callers of ${HotMix.join(", ")}: library ${(libraryMemory.peakRssKb / 1024).toFixed(0)} MB (${libraryMemory.ops.toLocaleString("en")} ops), raw driver ${(rawMemory.peakRssKb / 1024).toFixed(0)} MB (${rawMemory.ops.toLocaleString("en")} ops): ${(libraryMemory.peakRssKb / rawMemory.peakRssKb).toFixed(2)}×.`
  ]
  const failures = errorLines(results)
  if (failures.length > 0) report.push("", "Failed:", ...failures)
  if (drifts.length > 0) {
    report.push(
      "",
      "**SQL drift: the library no longer sends the statements in bench/Operations.ts; update them:**",
      ...drifts.map(({ operation, problem }) => `- ${operation}: ${problem}`)
    )
  }
  process.stdout.write(`${report.join("\n")}\n`)
  return drifts.length > 0 || failures.length > 0 ? 1 : 0
})
process.exitCode = exitCode
