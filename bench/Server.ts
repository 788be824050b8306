/**
 * Where the benchmark runs: a fresh database on BENCH_DATABASE_URL, else TEST_DATABASE_URL, else on an
 * embedded server in a temporary directory; the database (and the embedded server) are gone afterwards.
 */
import { chmod, mkdtemp, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { startEmbeddedPostgres } from "../src/Database/Testing.ts"

export interface BenchDatabase {
  /** The new database's URL (with credentials). */
  readonly url: string
  readonly name: string
  /** "external" (a server given by URL) or "embedded". */
  readonly serverKind: "external" | "embedded"
}

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject()))
    })
  })

const withServer = async <A>(f: (serverUrl: string, kind: BenchDatabase["serverKind"]) => Promise<A>): Promise<A> => {
  const given = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL
  if (given) return f(given, "external")
  const root = await mkdtemp(join(tmpdir(), "platform-kernel-bench-"))
  // As root the server runs as the "postgres" user, which must reach its directory.
  await chmod(root, 0o755)
  const port = await freePort()
  try {
    return await Effect.runPromise(
      Effect.scoped(
        Effect.flatMap(
          startEmbeddedPostgres({ dataDir: join(root, "data"), port, initdbFlags: ["--no-sync"] }),
          (server) => Effect.promise(() => f(Redacted.value(server.url), "embedded"))
        )
      )
    )
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

/** Runs one statement on `url` with a connection of its own. */
export const runStatement = (url: string, statement: string): Promise<ReadonlyArray<Record<string, unknown>>> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const client = yield* PgClient.PgClient
      return yield* client.unsafe<Record<string, unknown>>(statement)
    }).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1, applicationName: "pk-bench-admin" }))
    )
  )

export const withDatabaseUrl = (serverUrl: string, database: string): string => {
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  return url.toString()
}

/** A database of its own for `f`, dropped afterwards (with any session still on it). */
export const withBenchDatabase = <A>(f: (database: BenchDatabase) => Promise<A>): Promise<A> =>
  withServer(async (serverUrl, serverKind) => {
    const name = `pk_bench_${process.pid}_${Date.now().toString(36)}`
    await runStatement(serverUrl, `CREATE DATABASE ${name}`)
    try {
      return await f({ url: withDatabaseUrl(serverUrl, name), name, serverKind })
    } finally {
      await runStatement(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    }
  })
