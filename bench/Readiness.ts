/**
 * Readiness of `serve` on an external server: the time from spawning the process to its "ready" log line
 * (migrated, listening), median of a few start-ups against the (already migrated) benchmark database.
 */
import { spawn } from "node:child_process"
import { existsSync, readFileSync, statSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { median } from "./Measure.ts"
import { freePort } from "./Server.ts"

const root = fileURLToPath(new URL("..", import.meta.url))

export interface Readiness {
  readonly entry: string
  readonly millis: ReadonlyArray<number>
  readonly medianMillis: number
}

// The variables the CLI reads as configuration: a start-up gets only those given here.
const configVariable = /^(DATABASE_|HTTP_|LOG_|SHUTDOWN_|RBAC_|CONFIG_FILE$|TEST_DATABASE_URL$|BENCH_)/

/** The package's binary (as built), and the source entry Node runs directly. */
export const serveEntries = (): ReadonlyArray<{ readonly path: string; readonly label: string }> => {
  const bin = JSON.parse(readFileSync(`${root}/package.json`, "utf8")).bin["platform-kernel"] as string
  const entries: Array<{ path: string; label: string }> = []
  const binPath = `${root}/${bin}`
  if (existsSync(binPath)) {
    entries.push({ path: binPath, label: `${bin} (built ${statSync(binPath).mtime.toISOString().slice(0, 16)})` })
  }
  entries.push({ path: `${root}/src/Main.ts`, label: "src/Main.ts" })
  return entries
}

const startUp = async (entry: string, databaseUrl: string): Promise<number> => {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!configVariable.test(key)) env[key] = value
  Object.assign(env, {
    DATABASE_URL: databaseUrl,
    HTTP_HOST: "127.0.0.1",
    HTTP_PORT: String(await freePort()),
    LOG_FORMAT: "json",
    LOG_LEVEL: "info",
    SHUTDOWN_DRAIN_DELAY: "0 millis"
  })
  return new Promise((resolve, reject) => {
    const startedAt = performance.now()
    const child = spawn(process.execPath, [entry, "serve"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
    let readyAfter: number | undefined
    let output = ""
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
    const onData = (chunk: string) => {
      output += chunk
      if (readyAfter === undefined && /"ready"/.test(output)) {
        readyAfter = performance.now() - startedAt
        child.kill("SIGTERM")
      }
    }
    child.stdout.setEncoding("utf8").on("data", onData)
    child.stderr.setEncoding("utf8").on("data", onData)
    child.once("error", reject)
    child.once("close", () => {
      clearTimeout(timer)
      if (readyAfter === undefined) reject(new Error(`serve never logged "ready":\n${output.slice(-2000)}`))
      else resolve(readyAfter)
    })
  })
}

export const measureReadiness = async (databaseUrl: string, runs: number): Promise<ReadonlyArray<Readiness>> => {
  const results: Array<Readiness> = []
  for (const { path, label } of serveEntries()) {
    const millis: Array<number> = []
    for (let run = 0; run < runs; run++) millis.push(await startUp(path, databaseUrl))
    results.push({ entry: label, millis, medianMillis: median(millis) })
  }
  return results
}
