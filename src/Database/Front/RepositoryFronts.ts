import { Layer } from "effect"
import { AuditLogRepository } from "../Repositories/AuditLogRepository.ts"
import { PermissionRepository } from "../Repositories/PermissionRepository.ts"
import type { Repositories } from "../Repositories/Repositories.ts"
import { RoleRepository } from "../Repositories/RoleRepository.ts"
import { Transactions } from "../Repositories/Transactions.ts"
import { UserRepository } from "../Repositories/UserRepository.ts"
import { makeAuditLogRepository } from "./AuditLogRepositoryFront.ts"
import { makePermissionRepository } from "./PermissionRepositoryFront.ts"
import type { RepositoryStore } from "./RepositoryStore.ts"
import { makeRoleRepository } from "./RoleRepositoryFront.ts"
import { makeTransactions } from "./TransactionsFront.ts"
import { makeUserRepository } from "./UserRepositoryFront.ts"

/** Every repository and `Transactions`, over whichever `RepositoryStore` the layer is given. */
export const layer: Layer.Layer<Repositories, never, RepositoryStore> = Layer.mergeAll(
  Layer.effect(UserRepository, makeUserRepository),
  Layer.effect(RoleRepository, makeRoleRepository),
  Layer.effect(PermissionRepository, makePermissionRepository),
  Layer.effect(AuditLogRepository, makeAuditLogRepository),
  Layer.effect(Transactions, makeTransactions)
)
