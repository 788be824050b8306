/**
 * platform-kernel's public API: configuration, the PostgreSQL layers, migrations, health, the domain model
 * and the repositories. Most services need only `PlatformKernelLayer` (or, in tests, `MemoryDatabase.layer`).
 */

// Configuration
export {
  AppConfig,
  bundledConfigFile,
  bundledMigrationsDirectory,
  type LoadOptions,
  loadAppConfig
} from "./Config/AppConfig.ts"
export { ConfigLoadError } from "./Config/ConfigError.ts"
export { AppConfigSchema, type AppConfigValues, type DatabaseConfigValues } from "./Config/ConfigSchema.ts"
export { LoggingLayer } from "./Config/Logging.ts"
// Repositories
export { applyRbacBaseline, RbacBaselineError, RbacBaselineLayer } from "./Database/Bootstrap/RbacBaseline.ts"
// Database: client, embedded server, migrations, health
export { DatabaseClientLayer, DatabaseClientLayerNoWait, makeDatabaseClient } from "./Database/Client/DatabaseClient.ts"
export { DatabaseStartupError, EmbeddedPostgresError } from "./Database/Client/DatabaseErrors.ts"
export { DatabaseTarget } from "./Database/Client/DatabaseTarget.ts"
export { DatabaseConnectionLayer, DatabaseLayer, DatabaseTargetLayer } from "./Database/DatabaseLayers.ts"
export {
  type EmbeddedMode,
  type EmbeddedOptions,
  type EmbeddedServer,
  startEmbeddedPostgres
} from "./Database/Embedded/EmbeddedPostgres.ts"
export { DatabaseHealth, HealthReport } from "./Database/Health/DatabaseHealth.ts"
export { HealthProbeRoutes } from "./Database/Health/HealthProbes.ts"
// In memory, for consumers' tests
export { MemoryDatabase, type MemoryDatabaseServices } from "./Database/Memory/MemoryDatabase.ts"
export { MemoryStore } from "./Database/Memory/MemoryStore.ts"
export { mockLayer, partialMock, UnimplementedMockMethod } from "./Database/Memory/PartialMock.ts"
export {
  applyMigrations,
  DatabaseMigrations,
  type DatabaseMigrationsOptions,
  type MigrationOptions,
  type MigrationStatus,
  migrationStatus,
  type ServiceMigrationsState
} from "./Database/Migrations/DatabaseMigrations.ts"
export type { AppliedMigration, Drift, DriftKind } from "./Database/Migrations/MigrationDrift.ts"
export { SqlSplitError, splitSqlStatements } from "./Database/Migrations/SqlSplitter.ts"
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
export { type CreateRole, RoleRepository, type UpdateRole } from "./Database/Repositories/RoleRepository.ts"
export { Transactions } from "./Database/Repositories/Transactions.ts"
export {
  type CreateUser,
  type ListRequest,
  type UpdateUser,
  UserRepository
} from "./Database/Repositories/UserRepository.ts"
export { PlatformKernelLayer, RepositoriesLayer } from "./Database/RepositoryLayers.ts"

// Domain
export * from "./Domain/index.ts"
