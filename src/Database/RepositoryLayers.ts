import { Layer } from "effect"
import { AppConfig, type LoadOptions } from "../Config/AppConfig.ts"
import { DatabaseLayer } from "./DatabaseLayers.ts"
import { AuditLogRepository } from "./Repositories/AuditLogRepository.ts"
import { PermissionRepository } from "./Repositories/PermissionRepository.ts"
import { RoleRepository } from "./Repositories/RoleRepository.ts"
import { Transactions } from "./Repositories/Transactions.ts"
import { UserRepository } from "./Repositories/UserRepository.ts"

/** The four repositories and `Transactions` on PostgreSQL; needs the migrated database (`DatabaseLayer`). */
export const RepositoriesLayer = Layer.mergeAll(
  UserRepository.layer,
  RoleRepository.layer,
  PermissionRepository.layer,
  AuditLogRepository.layer,
  Transactions.layer
)

/**
 * Everything a platform service needs, in one layer: configuration (file + environment) -> client (embedded
 * server when none is configured) -> migrations -> repositories. Provides `AppConfig`, `PgClient`,
 * `SqlClient`, `DatabaseMigrations`, the repositories and `Transactions`.
 */
export const PlatformKernelLayer = (options: LoadOptions = {}) =>
  RepositoriesLayer.pipe(Layer.provideMerge(DatabaseLayer), Layer.provideMerge(AppConfig.layer(options)))
