import type { PgClient } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import type { SqlClient } from "effect/sql"
import { AppConfig, type LoadOptions } from "../Config/AppConfig.ts"
import type { ConfigLoadError } from "../Config/ConfigError.ts"
import * as Logging from "../Config/Logging.ts"
import { PermissionCache } from "./Access/PermissionCache.ts"
import * as AuditMaintenance from "./AuditPartitions/AuditMaintenance.ts"
import * as RbacBaseline from "./Bootstrap/RbacBaseline.ts"
import type { DatabaseTarget } from "./Client/DatabaseTarget.ts"
import * as Database from "./Database.ts"
import type { DatabaseMigrations, MigrationOptions } from "./Migrations/DatabaseMigrations.ts"
import type { Repositories } from "./Repositories/Repositories.ts"
import * as RepositoryLayers from "./RepositoryLayers.ts"
import * as Telemetry from "./Telemetry/Telemetry.ts"
import type { ReadReplicas } from "./Topology/ReadReplicas.ts"

/** Options of `PlatformKernel.layerWith`; each instance is built from its options alone. */
export interface Options {
  /** Where the configuration comes from; by default `CONFIG_FILE` (else the bundled file) and `process.env`. */
  readonly config?: LoadOptions | undefined
  /**
   * Log as `log.level` and `log.format` say, for the kernel's own work and for everything run with this layer
   * (default true). Set false when the service installs its own logger.
   */
  readonly logging?: boolean | undefined
  /**
   * Export as `telemetry` says (default true): OTLP when `telemetry.otlp.endpoint` is set, the kernel's metrics
   * unless `telemetry.metrics.enabled` is false. Set false when the service installs its own tracer and
   * exporters: they get the same spans and metrics.
   */
  readonly telemetry?: boolean | undefined
  /**
   * Keep the audit log's time partitions (default true): made ahead at startup and every
   * `audit.partitions.checkInterval`, expired ones dropped when `audit.retention` is set (README "Audit
   * partitions"). Set false when `platform-kernel serve` or a job of the service's own does it.
   */
  readonly auditPartitions?: boolean | undefined
  /** Apply the `rbac.roles` baseline when built (default true). */
  readonly rbacBaseline?: boolean | undefined
  /**
   * The service's own migrations, applied after the kernel's in their own history (instead of
   * `database.migrations.service`); use an absolute directory, e.g. from `import.meta.url`.
   */
  readonly serviceMigrations?: MigrationOptions | undefined
}

/** What `PlatformKernel.layer` provides. */
export type Services =
  | Repositories
  | PermissionCache
  | PgClient.PgClient
  | SqlClient.SqlClient
  | DatabaseTarget
  | ReadReplicas
  | DatabaseMigrations
  | AppConfig

/** Why `PlatformKernel.layer` could not be built. */
export type Error = Database.DatabaseError | ConfigLoadError | Layer.Error<typeof RbacBaseline.layer>

/**
 * A kernel of its own: configuration (file + environment) -> logging -> telemetry -> client (embedded server
 * when none is configured) -> migrations -> permission cache (`database.permissionCache`) -> repositories ->
 * the `rbac.roles` baseline. Each call is a separate instance
 * with its own pool, built from `options` alone (nothing inside is shared with another instance); keep the
 * value in a constant to share it: provided several times in one graph, one value is built once.
 */
export const layerWith = (options: Options = {}): Layer.Layer<Services, Error> => {
  const database =
    options.serviceMigrations === undefined
      ? Database.layer
      : Database.layerWith({ serviceMigrations: options.serviceMigrations })
  // The permission cache is on here unless `database.permissionCache.enabled` says otherwise.
  const repositories = RepositoryLayers.layer.pipe(
    Layer.provideMerge(PermissionCache.layer),
    Layer.provideMerge(database)
  )
  const withBaseline =
    options.rbacBaseline === false ? repositories : RbacBaseline.layer.pipe(Layer.provideMerge(repositories))
  const withUpkeep =
    options.auditPartitions === false
      ? withBaseline
      : Layer.merge(withBaseline, AuditMaintenance.layerSchedule.pipe(Layer.provide(database)))
  const logging =
    options.logging === false
      ? Layer.empty
      : Layer.unwrap(
          Effect.gen(function* () {
            const config = yield* AppConfig
            return Logging.layer(config.log)
          })
        )
  // Built after logging, so exported logs go beside the console's; its last batch leaves after the pool closed.
  const telemetry = options.telemetry === false ? Layer.empty : Telemetry.layer
  const kernel = withUpkeep.pipe(
    Layer.provideMerge(telemetry),
    Layer.provideMerge(logging),
    Layer.provideMerge(AppConfig.layer(options.config ?? {}))
  )
  // Built with a memo map of its own, so no inner layer (all module constants) is shared with another instance;
  // and memoised itself, so this value provided twice in one graph is built once. (`Layer.fresh` alone does the
  // first but not the second: it is built again wherever it appears.)
  return Layer.fromBuildMemo((_, scope) => Layer.buildWithMemoMap(kernel, Layer.makeMemoMapUnsafe(), scope))
}

/**
 * The kernel every service of a process shares: provide this same value wherever it is needed and it is
 * built once (one pool, one embedded server), as Effect shares any layer value provided more than once.
 */
export const layer: Layer.Layer<Services, Error> = layerWith()
