/**
 * platform-kernel's public API. Most services need only `PlatformKernel.layer` (the whole database layer,
 * configured from `config/default.yaml` and the environment) and the repositories it provides; tests use
 * `platform-kernel/testing`.
 */

// Configuration
export { AppConfig, type LoadOptions, loadAppConfig } from "./Config/AppConfig.ts"
export { ConfigLoadError } from "./Config/ConfigError.ts"
export { type AppConfigValues, type DatabaseConfigValues, type SslMode, SslModes } from "./Config/ConfigSchema.ts"
export * as Logging from "./Config/Logging.ts"
export * as RbacBaseline from "./Database/Bootstrap/RbacBaseline.ts"
// The database: where it is, whether it is healthy, its schema
export { DatabaseStartupError, EmbeddedPostgresError } from "./Database/Client/DatabaseErrors.ts"
export { DatabaseTarget } from "./Database/Client/DatabaseTarget.ts"
export * as Database from "./Database/Database.ts"
export type { EmbeddedMode } from "./Database/Embedded/EmbeddedPostgres.ts"
export { DatabaseHealth, HealthReport } from "./Database/Health/DatabaseHealth.ts"
export * as HealthProbes from "./Database/Health/HealthProbes.ts"
export {
  DatabaseMigrations,
  type DatabaseMigrationsOptions,
  type MigrationOptions,
  type MigrationStatus,
  type ServiceMigrationsState
} from "./Database/Migrations/DatabaseMigrations.ts"
export type { AppliedMigration, Drift, DriftKind } from "./Database/Migrations/MigrationDrift.ts"
// The whole kernel, and its parts for services that compose their own graph
export * as PlatformKernel from "./Database/PlatformKernel.ts"
// The repositories
export {
  type AppendAuditLog,
  AuditLogRepository,
  type ListAuditLogs
} from "./Database/Repositories/AuditLogRepository.ts"
export {
  type CreatePermission,
  type ListPermissions,
  PermissionRepository
} from "./Database/Repositories/PermissionRepository.ts"
export type { Repositories } from "./Database/Repositories/Repositories.ts"
export {
  type CreateRole,
  type EnsureRoleWithPermissions,
  RoleRepository,
  type UpdateRole
} from "./Database/Repositories/RoleRepository.ts"
export { Transactions } from "./Database/Repositories/Transactions.ts"
export {
  type CreateUser,
  type ListRequest,
  type UpdateUser,
  UserRepository
} from "./Database/Repositories/UserRepository.ts"
export * as RepositoryLayers from "./Database/RepositoryLayers.ts"

// The domain
export * from "./Domain/index.ts"
