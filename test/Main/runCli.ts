/**
 * Runs `src/Main.ts` as a child process (Node strips the types), the way an operator would run the
 * `platform-kernel` binary, with a clean environment and a hard time limit.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url))

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  /** The limit was reached and the process was killed. */
  readonly timedOut: boolean
  readonly elapsedMs: number
}

// Keys the CLI reads (config overrides) and the test harness's own: a child only gets what a test gives it.
const CONFIG_ENV = /^(DATABASE_|HTTP_|LOG_|SHUTDOWN_|RBAC_|TELEMETRY_|OTEL_|CONFIG_FILE$|TEST_DATABASE_URL$)/

/** `process.env` without anything the CLI would read as configuration, plus `env`. */
export const childEnv = (env: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv => {
  const base: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!CONFIG_ENV.test(key)) base[key] = value
  }
  return { ...base, ...env }
}

export interface RunningCli {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** Settles when the process has exited (killed with SIGKILL after `timeoutMs`). */
  readonly exited: Promise<CliResult>
}

export interface CliOptions {
  readonly env?: Readonly<Record<string, string>>
  readonly timeoutMs?: number
  /** The entry point to run, relative to the repository: `src/Main.ts` unless a built bundle is given. */
  readonly main?: string
}

export const startCli = (args: ReadonlyArray<string>, options: CliOptions = {}): RunningCli => {
  const startedAt = Date.now()
  const child = spawn(process.execPath, [options.main ?? "src/Main.ts", ...args], {
    cwd: REPO_ROOT,
    env: childEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk
  })
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk
  })
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    child.kill("SIGKILL")
  }, options.timeoutMs ?? 30_000)
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.once("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, timedOut, elapsedMs: Date.now() - startedAt })
    })
  })
  return { child, stdout: () => stdout, stderr: () => stderr, exited }
}

/** Runs the CLI to completion. */
export const runCli = (args: ReadonlyArray<string>, options: CliOptions = {}): Promise<CliResult> =>
  startCli(args, options).exited

/** Polls `check` every `intervalMs` until it returns a value, or fails after `timeoutMs`. */
export const pollUntil = async <A>(
  what: string,
  check: () => Promise<A | undefined>,
  options: { readonly timeoutMs: number; readonly intervalMs?: number; readonly abort?: () => string | undefined }
): Promise<A> => {
  const deadline = Date.now() + options.timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    const aborted = options.abort?.()
    if (aborted !== undefined) throw new Error(`${what}: gave up: ${aborted}`)
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (error) {
      lastError = error
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200))
  }
  throw new Error(
    `${what}: not within ${options.timeoutMs} ms${lastError ? ` (last error: ${String(lastError)})` : ""}`
  )
}

/** GET `url`, giving the status and the parsed JSON body (or null when not JSON). */
export const getJson = async (url: string): Promise<{ readonly status: number; readonly body: unknown }> => {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) })
  const text = await response.text()
  let body: unknown = null
  try {
    body = JSON.parse(text)
  } catch {
    body = null
  }
  return { status: response.status, body }
}

/** The JSON log lines of `output` (lines that are not JSON are skipped). */
export const jsonLines = (output: string): ReadonlyArray<Record<string, unknown>> =>
  output.split("\n").flatMap((line) => {
    if (!line.startsWith("{")) return []
    try {
      return [JSON.parse(line) as Record<string, unknown>]
    } catch {
      return []
    }
  })

/** Waits for a `serve` started with `LOG_FORMAT=json` to log "ready" on `stream`; throws with its stderr if it exits or takes longer. */
export const untilReady = async (
  serve: RunningCli,
  options: { readonly stream?: "stdout" | "stderr"; readonly timeoutMs?: number } = {}
): Promise<void> => {
  const output = options.stream === "stderr" ? serve.stderr : serve.stdout
  const deadline = Date.now() + (options.timeoutMs ?? 30_000)
  while (!output().includes('"message":"ready"')) {
    if (Date.now() > deadline || serve.child.exitCode !== null) throw new Error(`serve not ready:\n${serve.stderr()}`)
    await new Promise((done) => setTimeout(done, 50))
  }
}
