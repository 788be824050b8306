/**
 * The benchmark's knobs, read once from the environment:
 *   BENCH_DATABASE_URL   server to run on (else TEST_DATABASE_URL, else an embedded server); a fresh
 *                        database is created on it and dropped afterwards
 *   BENCH_ROUNDS         interleaved rounds (default 3)
 *   BENCH_SECONDS        seconds per contender per case per round (default 3)
 *   BENCH_ONLY           comma-separated operation names to run (default: all); semicolon-separated when a
 *                        name has a comma ("list, first page;list, deep page")
 *   BENCH_STALENESS_REVOCATIONS  revocations timed across two processes with the permission cache (default 200)
 *   BENCH_SMOKE=1        CI smoke: 1 round of 0.2 s on a small seed; proves the harness runs, measures nothing
 *   BENCH_MAX_LOAD       the highest 1-minute load average at a round's start for which ratios are reported
 *                        (default 1; see Quiet.ts)
 *   BENCH_QUIET_WAIT     seconds each round may wait for the load average to fall to BENCH_MAX_LOAD before it
 *                        starts (default 240; smoke 0)
 *   BENCH_BATCHING       e.g. "findWithAccess=on": the library's batching table with these entries changed
 *                        (Contenders/Library.ts), to time a batched lookup against one statement per caller
 */
import { DefaultMaxLoad } from "./Quiet.ts"

export interface Volume {
  readonly users: number
  readonly roles: number
  readonly permissionsPerRole: number
  readonly auditRows: number
  /** Rows skipped before the "deep" list page (99,000 at full volume). */
  readonly deepPageOffset: number
}

export interface Settings {
  readonly smoke: boolean
  readonly rounds: number
  readonly seconds: number
  readonly only: ReadonlySet<string> | undefined
  readonly volume: Volume
  /** `serve` start-ups timed for readiness. */
  readonly readinessRuns: number
  /** Seconds of 32-way load per process for the RSS comparison. */
  readonly rssSeconds: number
  /** Revocations timed by CacheStaleness.ts. */
  readonly stalenessRevocations: number
  /** Ratios are withheld when a round starts above this 1-minute load average. */
  readonly maxLoad: number
  /** How long a round may wait for the load to fall to `maxLoad` (the previous round's own load decays). */
  readonly quietWaitSeconds: number
}

const positive = (name: string, fallback: number): number => {
  const raw = process.env[name]
  if (raw === undefined || raw === "") return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`)
  return value
}

export const FullVolume: Volume = {
  users: 10_000,
  roles: 100,
  permissionsPerRole: 20,
  auditRows: 100_000,
  deepPageOffset: 99_000
}

export const SmokeVolume: Volume = {
  users: 1_000,
  roles: 5,
  permissionsPerRole: 4,
  auditRows: 3_000,
  deepPageOffset: 2_000
}

export const readSettings = (): Settings => {
  const smoke = process.env.BENCH_SMOKE === "1"
  const only = process.env.BENCH_ONLY
  return {
    smoke,
    rounds: Math.round(positive("BENCH_ROUNDS", smoke ? 1 : 3)),
    seconds: positive("BENCH_SECONDS", smoke ? 0.2 : 3),
    only:
      only === undefined || only === ""
        ? undefined
        : new Set(
            only
              // Names with a comma ("list, first page") are given separated by semicolons.
              .split(only.includes(";") ? ";" : ",")
              .map((name) => name.trim())
              .filter((name) => name !== "")
          ),
    volume: smoke ? SmokeVolume : FullVolume,
    readinessRuns: smoke ? 1 : 5,
    rssSeconds: smoke ? 0.5 : 5,
    stalenessRevocations: Math.round(positive("BENCH_STALENESS_REVOCATIONS", smoke ? 5 : 200)),
    maxLoad: positive("BENCH_MAX_LOAD", DefaultMaxLoad),
    quietWaitSeconds: smoke ? 0 : positive("BENCH_QUIET_WAIT", 240)
  }
}
