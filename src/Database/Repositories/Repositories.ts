import type { AuditLogRepository } from "./AuditLogRepository.ts"
import type { PermissionRepository } from "./PermissionRepository.ts"
import type { RoleRepository } from "./RoleRepository.ts"
import type { Transactions } from "./Transactions.ts"
import type { UserRepository } from "./UserRepository.ts"

/** Every repository and `Transactions`: what the PostgreSQL and the in-memory repository layers provide. */
export type Repositories = UserRepository | RoleRepository | PermissionRepository | AuditLogRepository | Transactions
