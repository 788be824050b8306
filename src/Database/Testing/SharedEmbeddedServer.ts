import { chmod, mkdtemp, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Scope, Semaphore } from "effect"
import { EmbeddedPostgresError } from "../Client/DatabaseErrors.ts"
import { type EmbeddedServer, startEmbeddedPostgres } from "../Embedded/EmbeddedPostgres.ts"

interface Shared {
  users: number
  readonly server: EmbeddedServer
  readonly scope: Scope.Closeable
}

interface State {
  current: Shared | undefined
  readonly lock: Semaphore.Semaphore
}

// On globalThis, made on first use (importing changes nothing): a test runner that loads this module once per
// test file, in the same process, still gets one server per process.
const STATE_KEY = Symbol.for("platform-kernel/testing/SharedEmbeddedServer")

const state = (): State => {
  const global = globalThis as { [STATE_KEY]?: State }
  global[STATE_KEY] ??= { current: undefined, lock: Semaphore.makeUnsafe(1) }
  return global[STATE_KEY]
}

const fail = (what: string) => (cause: unknown) =>
  new EmbeddedPostgresError({ reason: `${what}: ${cause instanceof Error ? cause.message : String(cause)}` })

const freePort = Effect.callback<number, EmbeddedPostgresError>((resume) => {
  const probe = createServer()
  probe.once("error", (error) => resume(Effect.fail(fail("cannot find a free port")(error))))
  probe.listen(0, "127.0.0.1", () => {
    const address = probe.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    probe.close(() => resume(Effect.succeed(port)))
  })
})

/** A throwaway cluster in a new temporary directory, removed after the server has stopped. */
const startThrowaway = Effect.gen(function* () {
  const root = yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const dir = await mkdtemp(join(tmpdir(), "platform-kernel-testing-"))
        // As root the server runs as the "postgres" user, which must be able to enter it.
        await chmod(dir, 0o755)
        return dir
      },
      catch: fail("cannot create a temporary directory")
    }),
    (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  )
  // Another process may take the port between the probe and the start: try a few.
  return yield* Effect.flatMap(freePort, (port) =>
    startEmbeddedPostgres({ dataDir: join(root, "data"), port, initdbFlags: ["--no-sync"] })
  ).pipe(Effect.retry({ times: 2, while: (error) => error.reason.includes("already in use") }))
})

/**
 * One embedded server per process, shared by every caller: the first starts it (in a temporary directory),
 * the others reuse it, and the last to close its scope stops it and removes the directory. No process hook is
 * involved, so a caller that never closes its scope leaves the server running until the process ends.
 */
export const acquire: Effect.Effect<EmbeddedServer, EmbeddedPostgresError, Scope.Scope> = Effect.acquireRelease(
  Effect.suspend(() => {
    const { lock } = state()
    return Semaphore.withPermits(
      lock,
      1
    )(
      Effect.gen(function* () {
        const existing = state().current
        if (existing !== undefined) {
          existing.users++
          return existing
        }
        const scope = yield* Scope.make()
        const server = yield* startThrowaway.pipe(
          Scope.provide(scope),
          Effect.onExit((exit) => (Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void))
        )
        const shared: Shared = { users: 1, server, scope }
        state().current = shared
        return shared
      })
    )
  }),
  (shared) =>
    Semaphore.withPermits(
      state().lock,
      1
    )(
      Effect.suspend(() => {
        shared.users--
        if (shared.users > 0) return Effect.void
        state().current = undefined
        return Scope.close(shared.scope, Exit.void)
      })
    )
).pipe(Effect.map((shared) => shared.server))
