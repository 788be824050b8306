/**
 * Peak resident memory under load: the library and the raw driver each in a child process of their own
 * (bench/LoadChild.ts) running the same hot operations at 32 callers; VmHWM read from /proc/<pid>/status
 * once the load is over, while the process is still alive.
 */
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import type { LoadSpec } from "./LoadChild.ts"

const loadChild = fileURLToPath(new URL("./LoadChild.ts", import.meta.url))

export interface LoadRun {
  readonly ops: number
  /** VmHWM: the peak resident set size, in kB. */
  readonly peakRssKb: number
}

const peakRssOf = (pid: number) => {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
  return match === null ? Number.NaN : Number(match[1])
}

/** Runs bench/LoadChild.ts with `spec` (and `nodeOptions`, e.g. --cpu-prof) and reads its peak RSS. */
export const runLoadChild = (spec: LoadSpec, nodeOptions: ReadonlyArray<string> = []): Promise<LoadRun> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeOptions, loadChild, JSON.stringify(spec)], {
      stdio: ["pipe", "pipe", "inherit"]
    })
    let output = ""
    let result: LoadRun | undefined
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk
      const line = output.split("\n").find((candidate) => candidate.startsWith("{"))
      if (result !== undefined || line === undefined) return
      result = { ops: JSON.parse(line).ops, peakRssKb: peakRssOf(child.pid!) }
      child.stdin.end()
    })
    child.once("error", reject)
    child.once("close", (code) =>
      result !== undefined && code === 0
        ? resolve(result)
        : reject(new Error(`load process (${spec.kind}) exited with ${code} before reporting`))
    )
  })

/** The hot operations the memory figure loads: reads, permission checks and audit appends. */
export const HotMix = ["findById", "findByEmail", "hasPermission", "findWithAccess", "audit append"]
