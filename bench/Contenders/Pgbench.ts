/**
 * pgbench, PostgreSQL's C client: `pgbench -n -M prepared -c N -j N -T secs -f script.sql`, with a script
 * per operation (see Operations.ts). Its throughput is the "tps" it prints without the initial connection
 * time; its CPU is what bash's `times` reports for its child, divided by the transactions it processed.
 */
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Sample } from "../Measure.ts"
import type { Operation } from "../Operations.ts"
import type { Contender } from "./Contender.ts"

/** The pgbench binary: PGBENCH, else /usr/bin/pgbench or one on the PATH; undefined when there is none. */
export const findPgbench = (): string | undefined => {
  for (const candidate of [process.env.PGBENCH, "/usr/bin/pgbench", "pgbench"]) {
    if (candidate === undefined || candidate === "") continue
    if (spawnSync(candidate, ["--version"], { stdio: "ignore" }).status === 0) return candidate
  }
  return undefined
}

const seconds = (minutes: string, secs: string) => Number(minutes) * 60 + Number(secs)

/** Parses pgbench's report and the `times` lines after it into a sample. */
export const parsePgbenchOutput = (stdout: string, stderr: string): Sample => {
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)
  const processed = /number of transactions actually processed: (\d+)/.exec(stdout)
  if (tps === null || processed === null) throw new Error(`pgbench printed no tps:\n${stdout}\n${stderr}`)
  // `times` prints the shell's own user/system times, then its children's (pgbench's).
  const times = [...stderr.matchAll(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s/g)].at(-1)
  const ops = Number(processed[1])
  const cpuSeconds = times === undefined ? Number.NaN : seconds(times[1]!, times[2]!) + seconds(times[3]!, times[4]!)
  return { opsPerSecond: Number(tps[1]), ops, cpuMicrosPerOp: (cpuSeconds * 1e6) / ops }
}

const run = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(
      "bash",
      ["-c", 'binary="$1"; shift; "$binary" "$@"; code=$?; times 1>&2; exit $code', "bash", ...args],
      {
        stdio: ["ignore", "pipe", "pipe"]
      }
    )
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk
    })
    child.once("error", reject)
    child.once("close", (code) => resolve({ code, stdout, stderr }))
  })

export const makePgbench = (binary: string, url: string): Contender => {
  const directory = mkdtempSync(join(tmpdir(), "platform-kernel-pgbench-"))
  const scripts = new Map<string, string>()
  const scriptFor = (operation: Operation) => {
    let path = scripts.get(operation.name)
    if (path === undefined) {
      path = join(directory, `${scripts.size}.sql`)
      writeFileSync(path, operation.pgbench.script)
      scripts.set(operation.name, path)
    }
    return path
  }
  return {
    name: "pgbench",
    runs: () => true,
    measure: async (operation, callers, secs) => {
      // -T takes whole seconds; a smoke run (under a second) runs a few transactions per client instead.
      const duration = secs < 1 ? ["-t", "5"] : ["-T", String(Math.round(secs))]
      const defines = Object.entries(operation.pgbench.defines ?? {}).flatMap(([name, value]) => [
        "-D",
        `${name}=${value}`
      ])
      const { code, stdout, stderr } = await run([
        binary,
        "-n",
        "-M",
        "prepared",
        "-c",
        String(callers),
        "-j",
        String(callers),
        ...duration,
        ...defines,
        "-f",
        scriptFor(operation),
        url
      ])
      if (code !== 0) throw new Error(`pgbench exited with ${code}: ${stderr.trim().split("\n").slice(-5).join("\n")}`)
      return parsePgbenchOutput(stdout, stderr)
    },
    close: async () => rmSync(directory, { recursive: true, force: true })
  }
}
