/**
 * Closed-loop throughput: `callers` concurrent callers each run the operation back to back until the time
 * is up; operations per second over the time actually taken (the last calls finish after the deadline), and
 * the client CPU (user + system) this process spent per operation meanwhile.
 */
import { Effect } from "effect"

export interface Sample {
  readonly opsPerSecond: number
  readonly ops: number
  /** Client CPU per operation, in microseconds (user + system). */
  readonly cpuMicrosPerOp: number
}

const sampleOf = (ops: number, startedAt: number, cpu: NodeJS.CpuUsage): Sample => {
  const elapsedMs = performance.now() - startedAt
  const used = process.cpuUsage(cpu)
  return {
    opsPerSecond: (ops * 1000) / elapsedMs,
    ops,
    cpuMicrosPerOp: ops === 0 ? Number.NaN : (used.user + used.system) / ops
  }
}

const callerIds = (callers: number) => Array.from({ length: callers }, (_, caller) => caller)

/** Caller c runs calls c, c + callers, c + 2 * callers, ... */
export const effectLoop = (
  op: (i: number) => Effect.Effect<unknown, unknown>,
  callers: number,
  seconds: number
): Effect.Effect<Sample> =>
  Effect.suspend(() => {
    let ops = 0
    const cpu = process.cpuUsage()
    const startedAt = performance.now()
    const deadline = startedAt + seconds * 1000
    return Effect.forEach(
      callerIds(callers),
      (caller) =>
        Effect.gen(function* () {
          for (let i = caller; performance.now() < deadline; i += callers) {
            yield* op(i)
            ops++
          }
        }),
      { concurrency: "unbounded", discard: true }
    ).pipe(
      Effect.orDie,
      Effect.map(() => sampleOf(ops, startedAt, cpu))
    )
  })

export const promiseLoop = async (
  op: (i: number) => Promise<unknown>,
  callers: number,
  seconds: number
): Promise<Sample> => {
  let ops = 0
  const cpu = process.cpuUsage()
  const startedAt = performance.now()
  const deadline = startedAt + seconds * 1000
  await Promise.all(
    callerIds(callers).map(async (caller) => {
      for (let i = caller; performance.now() < deadline; i += callers) {
        await op(i)
        ops++
      }
    })
  )
  return sampleOf(ops, startedAt, cpu)
}

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}
