import { readFileSync, rmSync, writeFileSync } from "node:fs"
import { resolve } from "node:path"

/** A server found running on a data directory, from its `postmaster.pid`. */
export interface RunningServer {
  readonly pid: number
  readonly port: number
  /** The process that started it is gone (killed, crashed): nobody will ever stop it. */
  readonly orphaned: boolean
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: alive, but another user's (the server runs as "postgres" when we are root).
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** The parent process of `pid` (Linux: from /proc), or undefined when it cannot be read. */
export const parentOf = (pid: number): number | undefined => {
  try {
    // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
  } catch {
    return undefined
  }
}

/** The file naming the process that started the server on `dataDir` (this library's, beside the data directory). */
const ownerFile = (dataDir: string) => `${dataDir}.owner`

export const recordOwner = (dataDir: string): void => writeFileSync(ownerFile(dataDir), `${process.pid}\n`)

export const forgetOwner = (dataDir: string): void => rmSync(ownerFile(dataDir), { force: true })

const readOwner = (dataDir: string): number | undefined => {
  try {
    return Number(readFileSync(ownerFile(dataDir), "utf8").trim()) || undefined
  } catch {
    return undefined
  }
}

/**
 * The server running on `dataDir`, if any. A server is ours to reuse only while the process that started it
 * lives: the server is that process's child, so once the owner is gone (a `kill -9`, the OOM killer) the
 * server has been re-parented and is an orphan holding the port.
 */
export const findRunningServer = (dataDir: string): RunningServer | undefined => {
  let lines: ReadonlyArray<string>
  try {
    lines = readFileSync(`${dataDir}/postmaster.pid`, "utf8").split("\n")
  } catch {
    return undefined
  }
  const pid = Number(lines[0])
  const port = Number(lines[3])
  // A stale file (the server died with its owner) or one naming another directory is not a running server.
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || resolve(lines[1] ?? "") !== resolve(dataDir)) {
    return undefined
  }
  const owner = readOwner(dataDir)
  const parent = parentOf(pid)
  const orphaned = owner === undefined || !isAlive(owner) || (parent !== undefined && parent !== owner)
  return { pid, port, orphaned }
}

/** Asks a server to stop (fast shutdown: sessions are ended, nothing is lost) and waits until it is gone. */
export const stopServer = async (pid: number, timeoutMs: number): Promise<void> => {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name)
    } catch {
      // Already gone.
    }
  }
  signal("SIGINT")
  const deadline = Date.now() + timeoutMs
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      signal("SIGKILL")
      break
    }
    await new Promise((done) => setTimeout(done, 25))
  }
}
