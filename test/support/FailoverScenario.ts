/**
 * A failover under load, through the library, on a pg_auto_failover cluster: repository writes, group-committed
 * audit appends, permission checks and replica reads run while the primary's host is lost (`kill -9` of its
 * pg_autoctl and postmaster); the manager promotes a secondary; the load goes on by itself. Afterwards every
 * acknowledged write is looked for on the new primary. Used by the test (Failover.test.ts) and by the script
 * that records the figures of three runs (FailoverRuns.ts).
 */
import { Context, Effect, Fiber, Layer, Redacted, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { DatabaseHealth } from "../../src/Database/Health/DatabaseHealth.ts"
import * as PlatformKernel from "../../src/Database/PlatformKernel.ts"
import { AuditLogRepository } from "../../src/Database/Repositories/AuditLogRepository.ts"
import { PermissionRepository } from "../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../src/Database/Repositories/RoleRepository.ts"
import { UserRepository } from "../../src/Database/Repositories/UserRepository.ts"
import { ReadReplicas } from "../../src/Database/Topology/ReadReplicas.ts"
import * as ReadYourWrites from "../../src/Database/Topology/ReadYourWrites.ts"
import type { AutoFailoverCluster } from "./AutoFailoverCluster.ts"

export interface FailoverFigures {
  readonly killedNode: string
  readonly newPrimary: string | undefined
  /** From the kill to the first acknowledged repository write that started after it. */
  readonly secondsToFirstWrite: number | undefined
  readonly usersAcknowledged: number
  readonly usersFound: number
  readonly appendsAcknowledged: number
  readonly appendsFound: number
  /** Audit appends stored more than once (a caller retried after an ambiguous failure). */
  readonly duplicates: number
  readonly writeFailures: number
  readonly permissionChecks: number
  /** Checks started more than `STALE_GRACE_MS` after an acknowledged change that gave the old answer. */
  readonly staleAnswers: number
  readonly replicaReads: number
  readonly primaryReads: number
  /** Reads of another session's new row that a replica had not replayed yet (lag, not loss). */
  readonly readsNotYetReplicated: number
  readonly writesPerSecondBefore: number
  readonly writesPerSecondAfter: number
  readonly readyzDownSeen: boolean
  readonly readyzUpAgain: boolean
  /** Calls that gave no answer within the scenario's limit, by kind (none expected). */
  readonly hung: Readonly<Record<string, number>>
}

/** What a cache may take to hear of a change made elsewhere: a check started later must see it. */
export const STALE_GRACE_MS = 1_000
const WRITERS = 6
const APPENDERS = 4
const READERS = 2
const CHECKERS = 2
const WINDOW_MS = 4_000
const CALL_LIMIT_MS = 15_000
const progress = (message: string) => Effect.sync(() => process.stderr.write(`failover: ${message}\n`))

const sleep = (millis: number) => Effect.sleep(millis)

export const runFailoverScenario = (
  cluster: AutoFailoverCluster,
  options: { readonly warmupMs?: number; readonly afterRecoveryMs?: number; readonly maxWaitMs?: number } = {}
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const env = {
        DATABASE_URL: cluster.url({ target_session_attrs: "read-write" }),
        DATABASE_REPLICAS_URL: cluster.url(),
        DATABASE_READ_FROM: "replicas",
        DATABASE_APPLICATION_NAME: "pk-failover",
        DATABASE_CONNECT_TIMEOUT: "2 seconds",
        DATABASE_STATEMENT_TIMEOUT: "4 seconds",
        DATABASE_QUERY_TIMEOUT: "5 seconds",
        DATABASE_POOL_ACQUIRE_TIMEOUT: "3 seconds",
        DATABASE_POOL_MAX_CONNECTIONS: "8",
        DATABASE_HEALTH_TIMEOUT: "1 second",
        DATABASE_STARTUP_TIMEOUT: "30 seconds",
        LOG_LEVEL: "error",
        TELEMETRY_METRICS_ENABLED: "false"
      }
      const kernel = PlatformKernel.layerWith({ config: { env }, telemetry: false, logging: false })
      const services = yield* Layer.build(DatabaseHealth.layer.pipe(Layer.provideMerge(kernel)))
      const users = Context.get(services, UserRepository)
      const roles = Context.get(services, RoleRepository)
      const permissions = Context.get(services, PermissionRepository)
      const audit = Context.get(services, AuditLogRepository)
      const health = Context.get(services, DatabaseHealth)
      const sql = Context.get(services, SqlClient.SqlClient)
      const replicas = Context.get(services, ReadReplicas)
      const run = `${Date.now().toString(36)}`

      // Access data the checks are about; changed behind the cache's back (raw SQL), as another process would.
      const permission = yield* permissions.create({ name: `failover.check.r${run}` })
      const role = yield* roles.create({ name: `failover-${run}` })
      yield* roles.grant(role.id, permission.id)
      const subject = yield* users.create({ email: `subject-${run}@example.com`, passwordHash: hash() })

      let stopping = false
      const acknowledgedUsers: Array<{ readonly email: string; readonly startedAt: number; readonly at: number }> = []
      const acknowledgedAppends: Array<string> = []
      let writeFailures = 0
      let permissionChecks = 0
      let staleAnswers = 0
      let expected: { readonly holds: boolean; readonly since: number } | undefined = { holds: false, since: 0 }
      const readyz: Array<{ readonly at: number; readonly up: boolean }> = []
      const userIds: Array<string> = [subject.id]
      // A call that never answers is a defect of its own: counted by kind, and the load goes on.
      const hung: Record<string, number> = {}
      const guard = <A, E>(kind: string, call: Effect.Effect<A, E>) =>
        Effect.result(
          Effect.timeoutOrElse(call, {
            duration: CALL_LIMIT_MS,
            orElse: () => {
              hung[kind] = (hung[kind] ?? 0) + 1
              return Effect.fail(new Error(`${kind} did not answer`))
            }
          })
        )

      const writer = (index: number) =>
        Effect.gen(function* () {
          for (let seq = 0; !stopping; seq++) {
            const email = `w${index}-${seq}-${run}@example.com`
            const startedAt = Date.now()
            const created = yield* guard("create", users.create({ email, passwordHash: hash() }))
            if (created._tag === "Success") {
              acknowledgedUsers.push({ email, startedAt, at: Date.now() })
              if (userIds.length < 500) userIds.push(created.success.id)
            } else {
              writeFailures++
              yield* sleep(50)
            }
          }
        })

      // A caller that retries its append until it is acknowledged, with the same content each time.
      const appender = (index: number) =>
        Effect.gen(function* () {
          for (let seq = 0; !stopping; seq++) {
            const key = `${index}:${seq}`
            for (let attempt = 0; attempt < 200 && !stopping; attempt++) {
              const appended = yield* guard(
                "append",
                audit.append({ action: "failover.tick", targetId: run, metadata: { key } })
              )
              if (appended._tag === "Success") {
                acknowledgedAppends.push(key)
                break
              }
              yield* sleep(50)
            }
          }
        })

      // Requests that read what others wrote: each a session of its own (nothing of its own to wait for), so
      // the replicas serve them as they are; a row a replica has not replayed yet is not found there.
      let readsNotYetReplicated = 0
      const reader = Effect.gen(function* () {
        while (!stopping) {
          const id = userIds[Math.floor(Math.random() * userIds.length)]!
          const found = yield* guard("findById", users.findById(id as typeof subject.id).pipe(ReadYourWrites.session()))
          if (found._tag === "Failure") {
            if ((found.failure as { readonly _tag?: string })._tag === "UserNotFound") readsNotYetReplicated++
            else yield* sleep(50)
          }
        }
      })

      const toggler = Effect.gen(function* () {
        let holds = false
        while (!stopping) {
          const next: boolean = !holds
          expected = undefined
          const changed = yield* guard(
            "toggle",
            next
              ? sql`INSERT INTO user_roles (user_id, role_id) VALUES (${subject.id}, ${role.id}) ON CONFLICT DO NOTHING`
              : sql`DELETE FROM user_roles WHERE user_id = ${subject.id} AND role_id = ${role.id}`
          )
          if (changed._tag === "Success") {
            holds = next
            expected = { holds, since: Date.now() }
          }
          yield* sleep(changed._tag === "Success" ? 300 : 100)
        }
      })

      const checker = Effect.gen(function* () {
        while (!stopping) {
          const before = expected
          const startedAt = Date.now()
          const answer = yield* guard("hasPermission", users.hasPermission(subject.id, permission.name))
          const after = expected
          if (answer._tag === "Success") {
            permissionChecks++
            // Only a check that began well after a change, with no other change since, can be judged.
            if (before !== undefined && after === before && startedAt - before.since > STALE_GRACE_MS) {
              if (answer.success !== before.holds) staleAnswers++
            }
          } else {
            yield* sleep(50)
          }
          yield* sleep(10)
        }
      })

      const prober = Effect.gen(function* () {
        while (!stopping) {
          const report = yield* Effect.orElseSucceed(
            Effect.timeoutOrElse(health.check, {
              duration: CALL_LIMIT_MS,
              orElse: () => Effect.fail(new Error("no report"))
            }),
            () => ({ status: "down" as const })
          )
          readyz.push({ at: Date.now(), up: report.status === "up" })
          yield* sleep(250)
        }
      })

      const fibers = yield* Effect.all(
        [
          ...Array.from({ length: WRITERS }, (_, i) => writer(i)),
          ...Array.from({ length: APPENDERS }, (_, i) => appender(i)),
          ...Array.from({ length: READERS }, () => reader),
          ...Array.from({ length: CHECKERS }, () => checker),
          toggler,
          prober
        ].map((fiber) => Effect.forkChild(fiber))
      )

      yield* progress("load running")
      yield* sleep(options.warmupMs ?? 5_000)
      const killedNode = (yield* Effect.promise(() => cluster.primary())) ?? "node1"
      yield* Effect.promise(() => cluster.kill(killedNode))
      // From here on the host is gone: a write acknowledged later was made on another server.
      const killedAt = Date.now()
      yield* progress(`killed ${killedNode}`)

      // Until a write that started after the kill is acknowledged, then a while longer for the rate after.
      const giveUpAt = killedAt + (options.maxWaitMs ?? 60_000)
      let firstWrite: number | undefined
      while (firstWrite === undefined && Date.now() < giveUpAt) {
        firstWrite = acknowledgedUsers.find((write) => write.startedAt > killedAt)?.at
        yield* sleep(100)
      }
      if (firstWrite !== undefined) yield* sleep(options.afterRecoveryMs ?? WINDOW_MS + 1_000)
      yield* progress(`first write after the kill: ${firstWrite === undefined ? "none" : firstWrite - killedAt} ms`)
      stopping = true
      yield* Effect.forEach(fibers, Fiber.await, { discard: true })
      yield* progress("load stopped")

      // What is stored, read on the new primary (once there is one).
      const onPrimary = { schedule: Schedule.spaced("200 millis"), times: 150 }
      const emails = acknowledgedUsers.map((write) => write.email)
      const foundUsers = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM users
        WHERE email = ANY(${emails}::citext[])`.pipe(Effect.retry(onPrimary))
      const stored = yield* sql<{ readonly key: string; readonly n: number }>`
        SELECT metadata->>'key' AS key, count(*)::int AS n FROM audit_logs
        WHERE action = 'failover.tick' AND target_id = ${run} GROUP BY 1`.pipe(Effect.retry(onPrimary))
      const storedKeys = new Map(stored.map((row) => [row.key, row.n]))
      const rate = (from: number, to: number) =>
        acknowledgedUsers.filter((write) => write.at >= from && write.at < to).length / ((to - from) / 1000)
      const newPrimary = yield* Effect.promise(() => cluster.primary())
      const firstDown = readyz.find((probe) => probe.at > killedAt && !probe.up)
      return {
        killedNode,
        newPrimary,
        secondsToFirstWrite: firstWrite === undefined ? undefined : (firstWrite - killedAt) / 1000,
        usersAcknowledged: emails.length,
        usersFound: foundUsers[0]!.n,
        appendsAcknowledged: acknowledgedAppends.length,
        appendsFound: acknowledgedAppends.filter((key) => storedKeys.has(key)).length,
        duplicates: stored.filter((row) => row.n > 1).reduce((sum, row) => sum + row.n - 1, 0),
        writeFailures,
        permissionChecks,
        staleAnswers,
        replicaReads: replicas.served.replica,
        primaryReads: replicas.served.primary,
        readsNotYetReplicated,
        writesPerSecondBefore: rate(killedAt - WINDOW_MS, killedAt),
        writesPerSecondAfter:
          firstWrite === undefined ? 0 : rate(firstWrite, Math.min(firstWrite + WINDOW_MS, Date.now())),
        readyzDownSeen: firstDown !== undefined,
        readyzUpAgain: firstDown !== undefined && readyz.some((probe) => probe.at > firstDown.at && probe.up),
        hung
      } satisfies FailoverFigures
    })
  )

let hashes = 0
const hash = () => Redacted.make(`$argon2id$v=19$m=65536,t=3,p=4$failover${++hashes}$hash${hashes}`)
