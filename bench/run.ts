/**
 * Hot-path benchmarks: each repository method against the same query through the raw driver, in the
 * same run, reported as a ratio (repository throughput / raw throughput). Interleaved rounds, medians.
 *
 *   node bench/run.ts                     # embedded server in a temporary directory
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node bench/run.ts
 *
 * A fresh database is created for the run and dropped afterwards.
 */
import { chmod, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem, NodePath } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted, References } from "effect"
import { SqlClient } from "effect/sql"
import { startEmbeddedPostgres } from "../src/Database/Testing.ts"
import {
  AppConfig,
  AuditLogRepository,
  Database,
  loadAppConfig,
  PermissionRepository,
  RepositoryLayers,
  type RoleId,
  RoleRepository,
  UserRepository
} from "../src/index.ts"

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const ROUND_MILLIS = Number(process.env.BENCH_ROUND_MILLIS ?? 1500)
const CONCURRENCY = 32
const USERS = 2_000

interface Case {
  readonly name: string
  readonly raw: (i: number) => Effect.Effect<unknown, unknown>
  readonly repository: (i: number) => Effect.Effect<unknown, unknown>
}

/** Operations per second for `op` run by CONCURRENCY fibers for ROUND_MILLIS. */
const throughput = (op: (i: number) => Effect.Effect<unknown, unknown>) =>
  Effect.gen(function* () {
    let done = 0
    const deadline = performance.now() + ROUND_MILLIS
    yield* Effect.forEach(
      Array.from({ length: CONCURRENCY }, (_, worker) => worker),
      (worker) =>
        Effect.gen(function* () {
          let i = worker
          while (performance.now() < deadline) {
            yield* op(i)
            i += CONCURRENCY
            done++
          }
        }),
      { concurrency: "unbounded", discard: true }
    )
    return (done * 1000) / ROUND_MILLIS
  })

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const program = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const users = yield* UserRepository
  const roles = yield* RoleRepository
  const permissions = yield* PermissionRepository
  const audit = yield* AuditLogRepository

  // Seed: USERS users, 5 roles of 10 permissions each, 2 roles per user.
  const roleIds: Array<RoleId> = []
  const permissionNames: Array<string> = []
  for (let r = 0; r < 5; r++) {
    const role = yield* roles.create({ name: `role_${r}` })
    roleIds.push(role.id)
    for (let p = 0; p < 10; p++) {
      const permission = yield* permissions.create({ name: `bench.resource_${r}.action_${p}` })
      permissionNames.push(permission.name)
      yield* roles.grant(role.id, permission.id)
    }
  }
  const created = yield* Effect.forEach(
    Array.from({ length: USERS }, (_, i) => i),
    (i) =>
      Effect.gen(function* () {
        const user = yield* users.create({ email: `user${i}@bench.test`, passwordHash: Redacted.make(`hash-${i}`) })
        yield* users.assignRole(user.id, roleIds[i % 5]!)
        yield* users.assignRole(user.id, roleIds[(i + 1) % 5]!)
        return user
      }),
    { concurrency: 8 }
  )
  const ids = created.map((user) => user.id)
  const emailOf = (i: number) => `user${i % USERS}@bench.test`
  const idOf = (i: number) => ids[i % USERS]!
  const permissionOf = (i: number) => permissionNames[(i * 7) % permissionNames.length]!

  const cases: ReadonlyArray<Case> = [
    {
      name: "findByEmail",
      raw: (i) =>
        sql`SELECT id, email, password_hash, verified, created_at, updated_at FROM users WHERE email = ${emailOf(i)}`,
      repository: (i) => users.findByEmail(emailOf(i))
    },
    {
      name: "findById (batched)",
      raw: (i) =>
        sql`SELECT id, email, password_hash, verified, created_at, updated_at FROM users WHERE id = ${idOf(i)}`,
      repository: (i) => users.findById(idOf(i))
    },
    {
      name: "hasPermission",
      raw: (i) => sql`SELECT EXISTS (
          SELECT 1 FROM user_roles ur
          JOIN role_permissions rp ON rp.role_id = ur.role_id
          JOIN permissions p ON p.id = rp.permission_id
          WHERE ur.user_id = ${idOf(i)} AND p.name = ${permissionOf(i)}) AS allowed`,
      repository: (i) => users.hasPermission(idOf(i), permissionOf(i))
    },
    {
      name: "audit append",
      raw: (i) =>
        sql`INSERT INTO audit_logs (id, actor_id, action, target_id, metadata)
            VALUES (gen_random_uuid(), ${idOf(i)}, 'bench.raw', ${String(i)}, ${JSON.stringify({ i })}::jsonb)`,
      repository: (i) =>
        audit.append({ action: "bench.repository", targetId: String(i), metadata: { i }, actorId: idOf(i) })
    }
  ]

  const results = new Map<string, { raw: Array<number>; repository: Array<number> }>()
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of cases) {
      const entry = results.get(c.name) ?? { raw: [], repository: [] }
      // Alternate which side goes first, so warm-up and drift do not favour one.
      if (round % 2 === 0) {
        entry.raw.push(yield* throughput(c.raw))
        entry.repository.push(yield* throughput(c.repository))
      } else {
        entry.repository.push(yield* throughput(c.repository))
        entry.raw.push(yield* throughput(c.raw))
      }
      results.set(c.name, entry)
    }
  }
  console.log(`\n${ROUNDS} rounds of ${ROUND_MILLIS} ms, ${CONCURRENCY} concurrent callers, ${USERS} users; medians`)
  console.log("| operation | raw driver ops/s | repository ops/s | ratio |")
  console.log("| --- | ---: | ---: | ---: |")
  for (const [name, { raw, repository }] of results) {
    const r = median(raw)
    const p = median(repository)
    console.log(`| ${name} | ${r.toFixed(0)} | ${p.toFixed(0)} | ${(p / r).toFixed(2)} |`)
  }
})

const withServer = async <A>(f: (serverUrl: string) => Promise<A>): Promise<A> => {
  const given = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL
  if (given) return f(given)
  const root = await mkdtemp(join(tmpdir(), "platform-kernel-bench-"))
  await chmod(root, 0o755)
  try {
    return await Effect.runPromise(
      Effect.scoped(
        Effect.flatMap(startEmbeddedPostgres({ dataDir: join(root, "data"), port: 54400 + (process.pid % 500) }), (s) =>
          Effect.promise(() => f(Redacted.value(s.url)))
        )
      )
    )
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

const admin = (serverUrl: string, statement: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const client = yield* PgClient.PgClient
      yield* client.unsafe(statement)
    }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(serverUrl), maxConnections: 1 })))
  )

await withServer(async (serverUrl) => {
  const database = `pk_bench_${process.pid}`
  await admin(serverUrl, `CREATE DATABASE ${database}`)
  try {
    const url = new URL(serverUrl)
    url.pathname = `/${database}`
    const config = await Effect.runPromise(
      loadAppConfig({
        env: { DATABASE_URL: url.toString(), DATABASE_POOL_MAX_CONNECTIONS: "8", LOG_LEVEL: "warn" }
      }).pipe(Effect.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer)))
    )
    await Effect.runPromise(
      program.pipe(
        Effect.provide(
          RepositoryLayers.layer.pipe(Layer.provideMerge(Database.layer), Layer.provide(AppConfig.layerFrom(config)))
        ),
        Effect.provideService(References.MinimumLogLevel, "Warn")
      )
    )
  } finally {
    await admin(serverUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  }
})
