/**
 * A real PgBouncer (the Debian package's binary) in transaction mode on a free loopback port, in front of the
 * test server: every database name is passed through, and the bouncer logs in upstream with the test
 * server's credentials while clients are trusted.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { pollUntil } from "../Main/runCli.ts"
import { freePort } from "./freePort.ts"

const BINARY = "/usr/sbin/pgbouncer"
// PgBouncer refuses to run as root; it switches to this user itself (-u).
const RUN_AS = "postgres"

const runsAsRoot = (): boolean => process.getuid?.() === 0

/** Why PgBouncer cannot run here, or undefined when it can. */
export const pgBouncerUnavailable = (): string | undefined => {
  if (!existsSync(BINARY)) return `${BINARY} is missing (apt-get install pgbouncer)`
  if (runsAsRoot()) {
    try {
      execFileSync("id", ["-u", RUN_AS], { stdio: "ignore" })
    } catch {
      return `running as root and there is no "${RUN_AS}" system user to run PgBouncer as`
    }
  }
  return undefined
}

export interface PgBouncer {
  readonly port: number
  /** `postgres://<user>@127.0.0.1:<port>/<database>` (clients are trusted). */
  readonly url: (database: string) => string
  /** The bouncer's log so far, for failure messages. */
  readonly log: () => string
}

export interface PgBouncerOptions {
  /** URL of the upstream server (any database: the client's database name is passed through). */
  readonly upstreamUrl: string
  /** Server connections per database and user. */
  readonly poolSize?: number
  /** PgBouncer's own `ignore_startup_parameters`, e.g. "statement_timeout" to drop it silently. */
  readonly ignoreStartupParameters?: string
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/** Starts PgBouncer for the scope; stopped (SIGTERM, then awaited) and its directory removed when it closes. */
export const startPgBouncer = (options: PgBouncerOptions) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const upstream = new URL(options.upstreamUrl)
      const user = decodeURIComponent(upstream.username || "postgres")
      const password = decodeURIComponent(upstream.password)
      const dir = await mkdtemp(join(tmpdir(), "pk-pgbouncer-"))
      await chmod(dir, 0o755)
      const port = await freePort()
      const credentials = `user=${user}${password === "" ? "" : ` password=${password}`}`
      await writeFile(join(dir, "users.txt"), `"${user}" ""\n`, { mode: 0o644 })
      await writeFile(
        join(dir, "pgbouncer.ini"),
        [
          "[databases]",
          `* = host=${upstream.hostname} port=${upstream.port || "5432"} ${credentials}`,
          "[pgbouncer]",
          "listen_addr = 127.0.0.1",
          `listen_port = ${port}`,
          "unix_socket_dir =",
          "auth_type = trust",
          `auth_file = ${join(dir, "users.txt")}`,
          "pool_mode = transaction",
          `default_pool_size = ${options.poolSize ?? 4}`,
          "max_client_conn = 500",
          ...(options.ignoreStartupParameters === undefined
            ? []
            : [`ignore_startup_parameters = ${options.ignoreStartupParameters}`]),
          ""
        ].join("\n"),
        { mode: 0o644 }
      )
      let log = ""
      const child: ChildProcess = spawn(BINARY, [...(runsAsRoot() ? ["-u", RUN_AS] : []), join(dir, "pgbouncer.ini")], {
        stdio: ["ignore", "pipe", "pipe"]
      })
      child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
        log += chunk
      })
      child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
        log += chunk
      })
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
      const bouncer: PgBouncer = {
        port,
        url: (database) => `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${database}`,
        log: () => log
      }
      const stop = async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
        await exited
        await rm(dir, { recursive: true, force: true })
      }
      try {
        await pollUntil("PgBouncer listens", async () => ((await listening(port)) ? true : undefined), {
          timeoutMs: 10_000,
          intervalMs: 50,
          abort: () => (child.exitCode !== null ? `pgbouncer exited ${child.exitCode}: ${log}` : undefined)
        })
      } catch (error) {
        await stop()
        throw error
      }
      return { bouncer, stop }
    }),
    ({ stop }) => Effect.promise(stop)
  ).pipe(Effect.map(({ bouncer }) => bouncer))
