/**
 * A process of its own that puts the hot operations under load, for the memory and CPU-profile figures:
 *   node bench/LoadChild.ts '{"kind":"library"|"raw","url":...,"seconds":5,"callers":32,"poolSize":10,"operations":[...],"volume":{...}}'
 * It prints one JSON line when the load is over ({"ops": n}), then waits for its stdin to close, so the
 * parent can read /proc/<pid>/status of a process that is still alive.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, ManagedRuntime, Redacted } from "effect"
import { builtLibrary } from "./Build.ts"
import type { KernelModule } from "./Contenders/Library.ts"
import { effectLoop } from "./Measure.ts"
import { makeOperations, type Operation } from "./Operations.ts"
import type { Volume } from "./Settings.ts"

export interface LoadSpec {
  readonly kind: "library" | "raw"
  readonly url: string
  readonly seconds: number
  readonly callers: number
  /** The raw driver's pool size (the library's comes from its configuration). */
  readonly poolSize: number
  /** Operation names; caller calls go round them in turn. */
  readonly operations: ReadonlyArray<string>
  readonly volume: Volume
}

const spec: LoadSpec = JSON.parse(process.argv[2] ?? "{}")
// The deep page is not among the hot operations this process runs.
const operations: ReadonlyArray<Operation> = makeOperations(spec.volume, {
  cursor: "",
  afterMicros: "0",
  afterId: "",
  layout: undefined
}).filter((operation) => spec.operations.includes(operation.name))
if (operations.length === 0) throw new Error(`no known operation in ${JSON.stringify(spec.operations)}`)
const pick = (i: number) => operations[i % operations.length]!

let ops: number
if (spec.kind === "library") {
  // Imported only here, so the raw driver's process does not load (and hold in memory) the library. The
  // built package, as a service runs it: Node's type stripping of ~100 source modules alone holds ~35 MB.
  const { makeLibrary } = await import("./Contenders/Library.ts")
  const kernel: KernelModule = await import(builtLibrary)
  const library = await makeLibrary(spec.url, kernel)
  ops = (await library.run(effectLoop((i) => pick(i).library(library.api, i), spec.callers, spec.seconds))).ops
  await library.close()
} else {
  const runtime = ManagedRuntime.make(
    PgClient.layer({ url: Redacted.make(spec.url), maxConnections: spec.poolSize, applicationName: "pk-bench-raw" })
  )
  ops = await runtime.runPromise(
    Effect.gen(function* () {
      const client = yield* PgClient.PgClient
      const sample = yield* effectLoop((i) => client.unsafe(pick(i).sql, pick(i).params(i)), spec.callers, spec.seconds)
      return sample.ops
    })
  )
  await runtime.dispose()
}
process.stdout.write(`${JSON.stringify({ ops })}\n`)
process.stdin.resume()
process.stdin.on("end", () => process.exit(0))
