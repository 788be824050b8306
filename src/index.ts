/**
 * platform-kernel's public API. Most services need only `PlatformKernel.layer` (the whole database layer,
 * configured from `config/default.yaml` and the environment) and the repositories it provides; tests use
 * `platform-kernel/testing`.
 */

// Configuration
export { AppConfig, type LoadOptions, loadAppConfig } from "./Config/AppConfig.ts"
export { ConfigLoadError } from "./Config/ConfigError.ts"
export { type AppConfigValues, type DatabaseConfigValues, type SslMode, SslModes } from "./Config/ConfigSchema.ts"
// Several hosts, read replicas, read-your-writes
export type { LoadBalanceHosts, TargetSessionAttrs } from "./Config/HostList.ts"
export * as Logging from "./Config/Logging.ts"
export {
  PermissionCache,
  type PermissionCacheOptions,
  type PermissionCacheStatus
} from "./Database/Access/PermissionCache.ts"
// The audit log's time partitions: upkeep, listing, retention and archives
export * as AuditPartitions from "./Database/AuditPartitions/AuditPartitionsApi.ts"
export * as RbacBaseline from "./Database/Bootstrap/RbacBaseline.ts"
// The database: where it is, whether it is healthy, its schema
export { DatabaseStartupError, EmbeddedPostgresError } from "./Database/Client/DatabaseErrors.ts"
export { DatabaseTarget } from "./Database/Client/DatabaseTarget.ts"
export * as Database from "./Database/Database.ts"
export type { EmbeddedMode } from "./Database/Embedded/EmbeddedPostgres.ts"
// A service's own tables: declaration, repository on PostgreSQL and in memory, catalog check
export * as Entity from "./Database/Entity/EntityKit.ts"
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
export * as Telemetry from "./Database/Telemetry/Telemetry.ts"
export { ReadReplicas } from "./Database/Topology/ReadReplicas.ts"
export * as ReadYourWrites from "./Database/Topology/ReadYourWrites.ts"
export { TopologyReport } from "./Database/Topology/TopologyReport.ts"

// The domain: who acts, ids, values, models, errors, paging, the audit vocabulary
export { asSystem, CurrentActor, withActor } from "./Domain/Actor.ts"
export { AuditAction } from "./Domain/AuditAction.ts"
export { AuditLog } from "./Domain/AuditLog.ts"
export { AuditMetadata, AuditMetadataMaxBytes, AuditMetadataMaxDepth } from "./Domain/AuditMetadata.ts"
export { AuditTargetId } from "./Domain/AuditTargetId.ts"
export {
  AuditActions,
  type AuditEvent,
  type AuditEventOf,
  AuditMetadataSchemas,
  decodeAuditEvent,
  isKernelAuditAction,
  type KernelAuditAction
} from "./Domain/AuditVocabulary.ts"
export { PermissionDescription, RoleDescription } from "./Domain/Description.ts"
export { Email } from "./Domain/Email.ts"
export {
  AuditLogNotFound,
  DatabaseUnavailable,
  EmailAlreadyTaken,
  InvalidInput,
  PermissionNameTaken,
  PermissionNotFound,
  RoleNameTaken,
  RoleNotFound,
  UserNotFound
} from "./Domain/Errors.ts"
export { AuditLogId, PermissionId, RoleId, UserId } from "./Domain/Ids.ts"
export { Cursor, DefaultPageLimit, MaxPageLimit, Page, PageLimit } from "./Domain/Pagination.ts"
export { PasswordHash } from "./Domain/PasswordHash.ts"
export { Permission } from "./Domain/Permission.ts"
export { PermissionName, type PermissionNameParts, permissionNameParts } from "./Domain/PermissionName.ts"
export { Role } from "./Domain/Role.ts"
export { RoleName } from "./Domain/RoleName.ts"
export { User } from "./Domain/User.ts"
export { RoleWithPermissions, UserWithAccess } from "./Domain/UserWithAccess.ts"
