/**
 * The audit log's time partitions, for services that compose the kernel themselves or run the upkeep on a
 * schedule of their own (README "Audit partitions"): `PlatformKernel.layer` and `serve` already run it.
 */
export {
  type ArchivedAuditRow,
  type ArchiveSummary,
  AuditArchiveError,
  readAuditArchive,
  verifyAuditArchive
} from "./AuditArchive.ts"
export {
  layerSchedule,
  type MaintenanceResult,
  maintainAsOwner,
  maintainAuditPartitions
} from "./AuditMaintenance.ts"
export {
  type AuditPartition,
  AuditRetentionError,
  archiveFileOf,
  type BlockedSlot,
  type DroppedPartition,
  dropExpiredAuditPartitions,
  type EnsureResult,
  ensureAuditPartitions,
  listAuditPartitions
} from "./AuditPartitions.ts"
export { type PartitionPeriod, PartitionPeriods } from "./PartitionPeriod.ts"
