/**
 * The partitions' upkeep as configured (`audit.partitions`, `audit.retention`, `audit.archive`): make the
 * missing partitions, report rows in the default one, then drop the expired ones. Run by `migrate`, by
 * `platform-kernel audit retain`, and by `serve` at startup and every `audit.partitions.checkInterval`.
 * It runs on the owner's connection (`database.migrations.url`) when one is configured: the service role
 * may neither make nor drop a partition.
 */
import { resolve } from "node:path"
import { Cause, Clock, Effect, Layer, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { AppConfig } from "../../Config/AppConfig.ts"
import type { AppConfigValues } from "../../Config/ConfigSchema.ts"
import { describeFailure } from "../Client/SqlFailure.ts"
import { hasOwnUrl, ownerClient } from "../Migrations/MigrationConnection.ts"
import {
  type DroppedPartition,
  dropExpiredAuditPartitions,
  type EnsureResult,
  ensureAuditPartitions
} from "./AuditPartitions.ts"

/** What one upkeep did. */
export interface MaintenanceResult extends EnsureResult {
  readonly dropped: ReadonlyArray<DroppedPartition>
}

/** The archive folder as configured, absolute; undefined when not set. */
export const archiveDirectoryOf = (config: AppConfigValues): string | undefined =>
  config.audit.archive.directory === "" ? undefined : resolve(config.audit.archive.directory)

/** One upkeep on the given client: partitions made ahead, the default one reported, expired ones dropped. */
export const maintainAuditPartitions = Effect.fn("maintainAuditPartitions")(function* (config: AppConfigValues) {
  const now = new Date(yield* Clock.currentTimeMillis)
  const ensured = yield* ensureAuditPartitions({
    period: config.audit.partitions.period,
    ahead: config.audit.partitions.ahead,
    now
  })
  if (ensured.created.length > 0) {
    yield* Effect.logInfo("audit partitions made").pipe(Effect.annotateLogs({ partitions: ensured.created.join(",") }))
  }
  if (ensured.defaultRows > 0) {
    yield* Effect.logWarning(
      "audit_logs_default holds rows outside every time partition: see `platform-kernel audit partitions`"
    ).pipe(Effect.annotateLogs({ rows: ensured.defaultRows }))
  }
  for (const slot of ensured.blocked) {
    yield* Effect.logWarning("audit partition not made: the default partition holds rows of its range").pipe(
      Effect.annotateLogs({ from: slot.from.toISOString(), to: slot.to.toISOString(), rows: slot.defaultRows })
    )
  }
  const retention = config.audit.retention
  const dropped =
    retention === "off"
      ? []
      : yield* dropExpiredAuditPartitions({ retention, archiveDirectory: archiveDirectoryOf(config), now })
  return { ...ensured, dropped } satisfies MaintenanceResult
})

/**
 * Runs `effect` on the owner's connection when `database.migrations.url` is set (opened for this run,
 * closed after), else on the client given.
 */
export const asOwner = <A, E>(
  config: AppConfigValues,
  sql: SqlClient.SqlClient,
  effect: Effect.Effect<A, E, SqlClient.SqlClient>
) =>
  hasOwnUrl(config)
    ? Effect.scoped(
        Effect.flatMap(ownerClient(config), (owner) => Effect.provideService(effect, SqlClient.SqlClient, owner))
      )
    : Effect.provideService(effect, SqlClient.SqlClient, sql)

/** One upkeep as the owner (see `asOwner`). */
export const maintainAsOwner = (config: AppConfigValues, sql: SqlClient.SqlClient) =>
  asOwner(config, sql, maintainAuditPartitions(config))

/**
 * The upkeep at startup, then every `audit.partitions.checkInterval`, in a fiber of the layer's scope. A
 * failed run is logged and tried again at the next interval: appends never wait for it (rows without a
 * partition land in the default one).
 */
export const layerSchedule: Layer.Layer<never, never, AppConfig | SqlClient.SqlClient> = Layer.effectDiscard(
  Effect.gen(function* () {
    const config = yield* AppConfig
    const sql = yield* SqlClient.SqlClient
    const once = maintainAsOwner(config, sql).pipe(
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause)
          ? Effect.failCause(cause)
          : Effect.logWarning(`audit partition upkeep failed: ${describeFailure(Cause.squash(cause))}`)
      )
    )
    yield* once.pipe(Effect.repeat(Schedule.spaced(config.audit.partitions.checkInterval)), Effect.forkScoped)
  })
)
