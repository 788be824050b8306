/** The library through its public API: `PlatformKernel.layerWith` and the repositories it provides. */
import { Context, Effect, Exit, Layer, ManagedRuntime, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { DefaultLookupBatching, LookupBatching } from "../../src/Database/Postgres/BatchedLookup.ts"
import type { AuditLogRepository, UserRepository } from "../../src/index.ts"
import * as Kernel from "../../src/index.ts"
import { createNotesTable, makeNotes } from "../Entities.ts"
import { effectLoop } from "../Measure.ts"
import type { LibraryApi, Operation } from "../Operations.ts"
import { type Contender, warmUpSeconds } from "./Contender.ts"

/** The configuration every in-process client uses: the library's defaults, and no idle connection closed mid-run. */
export const libraryEnv = (url: string): Record<string, string> => ({
  DATABASE_URL: url,
  DATABASE_POOL_IDLE_TIMEOUT: "10 minutes",
  LOG_LEVEL: "warn"
})

export interface Library extends Contender {
  readonly api: LibraryApi
  /** `database.pool.maxConnections` as configured: the drivers get the same pool size. */
  readonly poolSize: number
  readonly run: <A, E>(effect: Effect.Effect<A, E, UserRepository | AuditLogRepository>) => Promise<A>
}

/**
 * BENCH_BATCHING, e.g. "findWithAccess=on,findById=off": the batching table (`LookupBatching`) with these
 * entries changed, for the library built from its sources (not the built package of the RSS runs), so a
 * batched lookup can be timed against one statement per caller. Empty: the library's own table.
 */
const batchingOverride = (): Layer.Layer<never> => {
  const given = process.env.BENCH_BATCHING
  if (given === undefined || given.trim() === "") return Layer.empty
  const table: Record<string, boolean> = { ...DefaultLookupBatching }
  for (const entry of given.split(",")) {
    const [name, value] = entry.split("=").map((part) => part.trim())
    if (name === undefined || !(name in table) || (value !== "on" && value !== "off"))
      throw new Error(
        `BENCH_BATCHING: expected name=on|off with a name of ${Object.keys(table).join(", ")}, got "${entry}"`
      )
    table[name] = value === "on"
  }
  return Layer.succeed(LookupBatching, table as typeof DefaultLookupBatching)
}

/** The library's public module: its sources, or the built package (`dist/index.js`) as a consumer loads it. */
export type KernelModule = typeof Kernel

/** Builds the kernel (which migrates the database) and returns it as a contender. */
export const makeLibrary = async (
  url: string,
  kernel: KernelModule = Kernel,
  env: Readonly<Record<string, string>> = {},
  /** false: no partition upkeep (bench/AuditScale.ts makes its own partitions). */
  auditPartitions = true
): Promise<Library> => {
  const { AppConfig, AuditLogRepository, Entity, PermissionCache, PlatformKernel, RepositoryLayers, UserRepository } =
    kernel
  const batching = kernel === Kernel ? batchingOverride() : Layer.empty
  const runtime = ManagedRuntime.make(
    PlatformKernel.layerWith({ config: { env: { ...libraryEnv(url), ...env } }, auditPartitions }).pipe(
      Layer.provide(batching)
    )
  )
  const uncachedScope = Scope.makeUnsafe()
  const { api, poolSize } = await runtime.runPromise(
    Effect.gen(function* () {
      const config = yield* AppConfig
      // The repositories composed part by part (`RepositoryLayers.layer`, the permission cache off) on the kernel's
      // own pool: the uncached figure of hasPermission. Their store runs a group-commit fiber: closed with the rest.
      const uncached = yield* Layer.buildWithScope(
        RepositoryLayers.layer.pipe(
          Layer.provide(Layer.succeed(PermissionCache, PermissionCache.off)),
          Layer.provide(batching)
        ),
        uncachedScope
      )
      // A service's own table, made before its repository is built (which checks it against the catalog).
      yield* (yield* SqlClient.SqlClient).unsafe(createNotesTable)
      const notes = yield* Entity.makePg(makeNotes(kernel)).pipe(Effect.provideService(Scope.Scope, uncachedScope))
      return {
        api: {
          notes,
          users: yield* UserRepository,
          usersUncached: Context.get(uncached, UserRepository),
          audit: yield* AuditLogRepository
        },
        poolSize: config.database.pool.maxConnections
      }
    })
  )
  const measure = async (operation: Operation, callers: number, seconds: number) => {
    const op = (i: number) => operation.library(api, i)
    await runtime.runPromise(effectLoop(op, callers, warmUpSeconds(seconds)))
    return runtime.runPromise(effectLoop(op, callers, seconds))
  }
  return {
    name: "library",
    runs: () => true,
    measure,
    close: async () => {
      await Effect.runPromise(Scope.close(uncachedScope, Exit.void))
      await runtime.dispose()
    },
    api,
    poolSize,
    run: (effect) => runtime.runPromise(effect)
  }
}
