/**
 * Whether a run was quiet enough for its ratios to mean anything. A loaded machine slows pgbench (one server
 * process per client, on the same 2 cores) far more than it slows the library, so ratios taken under load
 * flatter the library by 2–5× (issue 18). Each round records the 1-minute load average at its start; when any
 * round started above the limit, the report withholds the ratio table and says which round and why.
 */
import { loadavg } from "node:os"

/** Above this 1-minute load average at a round's start, the run's ratios are withheld (BENCH_MAX_LOAD). */
export const DefaultMaxLoad = 1

export interface RoundLoad {
  /** 1-based. */
  readonly round: number
  /** The 1-minute load average when the round started. */
  readonly load: number
}

/** The 1-minute load average now. */
export const currentLoad = (): number => loadavg()[0] ?? 0

/**
 * Waits, up to `maxWaitSeconds`, for the 1-minute load average to fall to `maxLoad`, and returns it. The
 * benchmark loads the machine itself (pgbench's 32 clients and their server processes), and the average takes
 * about two minutes to forget a round: without this wait every round after the first would start "loaded" by
 * the previous one. What is still above the limit after the wait is load from elsewhere.
 */
export const settle = async (
  maxLoad: number,
  maxWaitSeconds: number,
  log: (line: string) => void,
  load: () => number = currentLoad
): Promise<number> => {
  const deadline = Date.now() + maxWaitSeconds * 1000
  let now = load()
  if (now > maxLoad && maxWaitSeconds > 0)
    log(`waiting up to ${maxWaitSeconds} s for the load average (${now.toFixed(2)}) to fall to ${maxLoad}`)
  while (now > maxLoad && Date.now() < deadline) {
    await new Promise((done) => setTimeout(done, 2_000))
    now = load()
  }
  return now
}

export const formatLoads = (loads: ReadonlyArray<RoundLoad>): string =>
  loads.map(({ round, load }) => `round ${round} ${load.toFixed(2)}`).join(", ")

/**
 * `undefined` when every round started at or below `maxLoad`; otherwise the sentence that replaces the ratio
 * table, naming each round that started too loaded.
 */
export const ratiosWithheldReason = (loads: ReadonlyArray<RoundLoad>, maxLoad: number): string | undefined => {
  const loaded = loads.filter(({ load }) => load > maxLoad)
  if (loaded.length === 0) return undefined
  return `**Ratios withheld: ${formatLoads(loaded)} started with a 1-minute load average above ${maxLoad}.** A loaded machine slows pgbench far more than the library, so these ratios would flatter it; stop whatever else runs (test suites, builds, helpers), wait for the load to fall below ${maxLoad}, and run again. The throughput and CPU tables below are printed for diagnosis only.`
}
