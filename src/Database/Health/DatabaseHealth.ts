import { Clock, Context, Duration, Effect, Layer, Schema } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { SqlClient } from "effect/sql"
import { AppConfig } from "../../Config/AppConfig.ts"
import * as NodeFiles from "../../Config/NodeFiles.ts"
import * as BoundedPgClient from "../Client/BoundedPgClient.ts"
import { clientSettings } from "../Client/DatabaseClient.ts"
import { DatabaseTarget } from "../Client/DatabaseTarget.ts"
import { withDeadlines } from "../Client/Deadline.ts"
import { describeFailure } from "../Client/SqlFailure.ts"
import { migrationStatusOf } from "../Migrations/DatabaseMigrations.ts"
import { readMigrationFiles } from "../Migrations/MigrationFiles.ts"
import { recordHealthCheck, recordTopology } from "../Telemetry/MetricsSwitch.ts"
import { checkTopology, TopologyReport } from "../Topology/TopologyReport.ts"

/** What a health check reports (the body of `/readyz` and of `platform-kernel health`). */
export const HealthReport = Schema.Struct({
  status: Schema.Literals(["up", "down"]),
  latencyMs: Schema.Number,
  serverVersion: Schema.NullOr(Schema.String),
  pool: Schema.Struct({
    max: Schema.Number,
    /** Server sessions under this application name (all instances sharing it), null when down. */
    open: Schema.NullOr(Schema.Number),
    idle: Schema.NullOr(Schema.Number)
  }),
  migrations: Schema.NullOr(Schema.Struct({ latest: Schema.NullOr(Schema.Number), pending: Schema.Number })),
  /**
   * The default partition of `audit_logs` (absent before migration 0006): its rows are appends that found no
   * time partition, so it should hold none; `action` says what to do when it does.
   */
  auditDefaultPartition: Schema.optionalKey(
    Schema.Struct({
      partition: Schema.String,
      /**
       * The statistics' count, read without touching the partition: rows inserted minus deleted since the
       * statistics were last reset, or its last VACUUM/ANALYZE's count when that is higher.
       */
      rows: Schema.Number,
      rowsAre: Schema.Literal("estimate"),
      expected: Schema.Literal(0),
      action: Schema.optionalKey(Schema.String)
    })
  ),
  /** Several hosts or replicas configured: which host is primary, and each standby's lag. */
  topology: Schema.optionalKey(TopologyReport),
  error: Schema.optionalKey(Schema.String)
})
export type HealthReport = typeof HealthReport.Type

interface ServerFacts {
  readonly serverVersion: string
  readonly open: number
  readonly idle: number
  readonly auditDefaultPartition: string | null
  readonly auditDefaultRows: number | null
}

const defaultPartitionAction =
  "these are appends that found no time partition of audit_logs: check that the partition upkeep runs as the owner " +
  "(database.migrations.url, or `platform-kernel audit retain` from cron) and the database clock; " +
  '`platform-kernel audit partitions` counts them exactly and names the ranges left unmade (README "Audit partitions")'

const auditDefaultPartitionOf = (facts: ServerFacts): Pick<HealthReport, "auditDefaultPartition"> =>
  facts.auditDefaultPartition === null
    ? {}
    : {
        auditDefaultPartition: {
          partition: facts.auditDefaultPartition,
          rows: facts.auditDefaultRows ?? 0,
          rowsAre: "estimate",
          expected: 0,
          ...((facts.auditDefaultRows ?? 0) > 0 ? { action: defaultPartitionAction } : {})
        }
      }

/**
 * The check's own client: one connection, opened when first needed and kept, with every wait bounded by
 * `database.health.timeout`. A pool busy with the application's work is not a database that is down, so
 * the check never queues behind it.
 */
const makeHealthClient = Effect.gen(function* () {
  const config = yield* AppConfig
  const target = yield* DatabaseTarget
  const { options, bounds } = clientSettings(config.database, target)
  // The check answers at database.health.timeout whatever happens (see `check`); these bounds, later than
  // that, only end the work it gave up on, so the connection is free for the next check.
  const timeout = config.database.health.timeout
  const cleanup = Duration.times(timeout, 2)
  return yield* BoundedPgClient.make(
    { ...options, maxConnections: 1, minConnections: 0, connectTimeout: cleanup },
    {
      acquireTimeout: cleanup,
      acquireTimeoutSetting: "twice database.health.timeout",
      statementDeadline: cleanup,
      statementDeadlineSetting: "twice database.health.timeout",
      hostChoice: bounds.hostChoice
    }
  ).pipe(Effect.provide(Reactivity.layer))
})

/** A database health check for probes and the `health` command: it never fails and never hangs. */
export class DatabaseHealth extends Context.Service<DatabaseHealth, { readonly check: Effect.Effect<HealthReport> }>()(
  "platform-kernel/Database/DatabaseHealth"
) {
  /** The check, on a connection of its own to the `DatabaseTarget` (see `makeHealthClient`). */
  static readonly layer: Layer.Layer<DatabaseHealth, never, AppConfig | DatabaseTarget> = Layer.effect(
    DatabaseHealth,
    Effect.gen(function* () {
      const config = yield* AppConfig
      const { applicationName, pool, health, migrations } = config.database
      const timeout = health.timeout
      // Only a configuration the driver refuses fails here; the main client refuses it too, but the check
      // still answers (down, saying why) rather than failing.
      const client = yield* Effect.result(makeHealthClient)

      // The hosts behind the write pool and the replicas (when several): checked on each probe, within its time.
      const target = yield* DatabaseTarget
      const replicaTarget =
        config.database.readFrom === "replicas"
          ? yield* Effect.orElseSucceed(DatabaseTarget.replicasFromConfig(config.database), () => undefined)
          : undefined
      const resolvers = { primary: target.resolver, replicas: replicaTarget?.resolver }
      const topology =
        resolvers.primary === undefined && resolvers.replicas === undefined
          ? Effect.succeed(undefined)
          : Effect.promise(() => checkTopology(resolvers))

      // The files do not change while the process runs: read them once, not on every probe.
      const files = yield* Effect.cached(readMigrationFiles(migrations.directory).pipe(Effect.provide(NodeFiles.layer)))

      const probeWith = (sql: SqlClient.SqlClient) =>
        Effect.gen(function* () {
          // The default partition's rows come from the catalog and the statistics counters: no lock on the
          // partition (an EXISTS or a count would wait behind the ACCESS EXCLUSIVE lock that attaching a
          // partition takes on it, up to lock_timeout, and needs a SELECT privilege the service role does not
          // have on partitions), and no read of it, whatever it holds. The counters lag a commit by up to a
          // few seconds and are lost by a crash; the last VACUUM/ANALYZE's count (reltuples) covers that.
          const [facts] = yield* sql<ServerFacts>`
          SELECT current_setting('server_version') AS server_version,
                 count(*)::int AS open,
                 (count(*) FILTER (WHERE state = 'idle'))::int AS idle,
                 (SELECT c.relname::text FROM pg_partitioned_table pt JOIN pg_class c ON c.oid = pt.partdefid
                   WHERE pt.partrelid = to_regclass('audit_logs')) AS audit_default_partition,
                 (SELECT greatest(pg_stat_get_live_tuples(c.oid), c.reltuples, 0)::float8
                   FROM pg_partitioned_table pt JOIN pg_class c ON c.oid = pt.partdefid
                   WHERE pt.partrelid = to_regclass('audit_logs')) AS audit_default_rows
          FROM pg_stat_activity
          WHERE application_name = ${applicationName} AND datname = current_database()`
          const status = yield* migrationStatusOf(yield* files, migrations.table)
          return { facts: facts!, status }
        }).pipe(Effect.provideService(SqlClient.SqlClient, sql))
      const probe = client._tag === "Success" ? probeWith(client.success) : Effect.fail(client.failure)

      const check = Effect.gen(function* () {
        const startedAt = yield* Clock.currentTimeMillis
        const elapsed = Effect.map(Clock.currentTimeMillis, (now) => now - startedAt)
        // The probe is abandoned, not awaited: cancelling a statement on a frozen server takes seconds.
        const outcome = yield* withDeadlines(() => probe, {
          run: {
            millis: Duration.toMillis(timeout),
            error: () => new Error(`no answer within ${Duration.format(timeout)}`)
          }
        }).pipe(Effect.result)
        // Reported up or down: during a failover it says which hosts are left and what they are.
        const hosts = yield* withDeadlines(() => topology, {
          run: { millis: Duration.toMillis(timeout), error: () => new Error("no answer") }
        }).pipe(Effect.orElseSucceed(() => undefined))
        const withTopology = hosts === undefined ? {} : { topology: hosts }
        if (hosts !== undefined) yield* recordTopology(hosts.hosts)
        const latencyMs = yield* elapsed
        if (outcome._tag === "Success") {
          const { facts, status } = outcome.success
          return {
            status: "up",
            latencyMs,
            serverVersion: facts.serverVersion,
            pool: { max: pool.maxConnections, open: facts.open, idle: facts.idle },
            migrations: { latest: status.latest, pending: status.pending.length },
            ...auditDefaultPartitionOf(facts),
            ...withTopology
          } satisfies HealthReport
        }
        return {
          status: "down",
          latencyMs,
          serverVersion: null,
          pool: { max: pool.maxConnections, open: null, idle: null },
          migrations: null,
          ...withTopology,
          error: describeFailure(outcome.failure)
        } satisfies HealthReport
      }).pipe(
        Effect.tap((report) => recordHealthCheck(report.status, report.latencyMs)),
        // A defect (a driver bug, say) is still a "down", never a crashed probe.
        Effect.catchDefect((defect) =>
          Effect.succeed({
            status: "down",
            latencyMs: 0,
            serverVersion: null,
            pool: { max: pool.maxConnections, open: null, idle: null },
            migrations: null,
            error: String(defect)
          } satisfies HealthReport)
        ),
        Effect.withSpan("DatabaseHealth.check")
      )
      return DatabaseHealth.of({ check })
    })
  )
}
