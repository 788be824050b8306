/**
 * A pg_auto_failover cluster on loopback (monitor, node1 primary, node2 and node3 secondaries), driven by
 * `auto-failover-cluster.sh`. Needs the Debian package postgresql-15-auto-failover and root (pg_autoctl runs
 * as the postgres user).
 */
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { freePort } from "./freePort.ts"

const run = promisify(execFile)
const SCRIPT = join(import.meta.dirname, "auto-failover-cluster.sh")
const BIN = "/usr/lib/postgresql/15/bin"

export interface AutoFailoverCluster {
  readonly monitorPort: number
  /** node1, node2, node3's ports. */
  readonly nodePorts: ReadonlyArray<number>
  /** A URL naming every node (`postgres://postgres@127.0.0.1:P1,...:P3/app`), plus `params`. */
  readonly url: (params?: Readonly<Record<string, string>>) => string
  /** The node the monitor has as primary (or wait_primary), if any. */
  readonly primary: () => Promise<string | undefined>
  /** Each node's `name:reported/goal` state. */
  readonly state: () => Promise<string>
  /** `kill -9` of the node's pg_autoctl (its process group) and its postmaster. */
  readonly kill: (node: string) => Promise<void>
  readonly stop: () => Promise<void>
}

/** Why the cluster cannot run here, or undefined when it can. */
export const autoFailoverUnavailable = async (): Promise<string | undefined> => {
  if (process.getuid?.() !== 0)
    return "pg_auto_failover runs its nodes as the postgres user: the tests must run as root"
  try {
    await run("pg_autoctl", ["--version"])
  } catch {
    return "pg_autoctl is not installed (Debian package postgresql-15-auto-failover)"
  }
  if (!existsSync(join(BIN, "pg_ctl"))) return `no PostgreSQL 15 binaries in ${BIN}`
  return undefined
}

export const startAutoFailoverCluster = async (): Promise<AutoFailoverCluster> => {
  const dir = await mkdtemp(join(tmpdir(), "pk-autofailover-"))
  const ports: Array<number> = []
  while (ports.length < 4) {
    const port = await freePort()
    if (!ports.includes(port)) ports.push(port)
  }
  const [monitorPort, ...nodePorts] = ports as [number, number, number, number]
  const script = (...args: ReadonlyArray<string | number>) =>
    run("bash", [SCRIPT, ...args.map(String)], { maxBuffer: 1 << 20 })
  const stop = async () => {
    await script("down", dir).catch(() => undefined)
  }
  try {
    await script("up", dir, monitorPort, ...nodePorts)
  } catch (error) {
    await stop()
    throw error
  }
  const state = async () => (await script("state", dir, monitorPort)).stdout.trim()
  return {
    monitorPort,
    nodePorts,
    url: (params = {}) => {
      const query = new URLSearchParams({ sslmode: "disable", ...params }).toString()
      return `postgres://postgres@${nodePorts.map((port) => `127.0.0.1:${port}`).join(",")}/app?${query}`
    },
    state,
    primary: async () => /(node\d):(?:primary|wait_primary)\/(?:primary|wait_primary)\b/.exec(await state())?.[1],
    kill: async (node) => {
      await script("kill", dir, node)
    },
    stop
  }
}
