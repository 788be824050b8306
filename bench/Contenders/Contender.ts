import type { Sample } from "../Measure.ts"
import type { Operation } from "../Operations.ts"

/** One client that runs the operations: the library, a driver, or pgbench. */
export interface Contender {
  readonly name: string
  /** Whether it runs `operation` at all (COPY only appends many rows). */
  readonly runs: (operation: Operation) => boolean
  readonly measure: (operation: Operation, callers: number, seconds: number) => Promise<Sample>
  readonly close: () => Promise<void>
}

/** How long to run an operation untimed first, so JIT, pool and caches are warm when the clock starts. */
export const warmUpSeconds = (seconds: number): number => Math.min(0.5, seconds * 0.15)
