import { Layer } from "effect"
import { AuditLogRepository } from "../../../src/Database/Repositories/AuditLogRepository.ts"
import { PermissionRepository } from "../../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../../src/Database/Repositories/RoleRepository.ts"
import { Transactions } from "../../../src/Database/Repositories/Transactions.ts"
import { UserRepository } from "../../../src/Database/Repositories/UserRepository.ts"
import { TestDatabaseLayer } from "../../support/TestDatabase.ts"

/** The PostgreSQL repositories on a fresh database of their own, plus its `SqlClient`, `PgClient` and `AppConfig`. */
export const RepositoriesTestLayer = (env: Record<string, string> = {}) =>
  Layer.mergeAll(
    UserRepository.layer,
    RoleRepository.layer,
    PermissionRepository.layer,
    AuditLogRepository.layer,
    Transactions.layer
  ).pipe(Layer.provideMerge(TestDatabaseLayer(env)))
