/**
 * Runs an ES module given as text in a fresh Node process (which strips TypeScript types, so it may import the
 * sources), from the repository's root, with the configuration keys of this process removed from its
 * environment and `env` added.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { childEnv, REPO_ROOT } from "../Main/runCli.ts"

export interface ScriptResult {
  readonly code: number | null
  /** The signal that ended the process, when one did. */
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** An absolute path of the repository, quoted for a script's `import`. */
export const sourcePath = (relative: string): string =>
  JSON.stringify(fileURLToPath(new URL(`../../${relative}`, import.meta.url)))

export const runScript = (
  source: string,
  options: {
    readonly env?: Record<string, string>
    readonly timeoutMs?: number
    /** Called with all output so far each time the script prints, e.g. to signal it once it is ready. */
    readonly onStdout?: (stdoutSoFar: string, pid: number) => void
  } = {}
): Promise<ScriptResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", source], {
      cwd: REPO_ROOT,
      env: childEnv(options.env),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000)
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
      options.onStdout?.(stdout, child.pid ?? 0)
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk
    })
    child.once("error", reject)
    child.once("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
