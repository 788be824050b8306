import { Effect, Layer, type Scope } from "effect"
import { SqlClient } from "effect/sql"
import { RepositoryStore } from "../Front/RepositoryStore.ts"
import { DatabaseMigrations } from "../Migrations/DatabaseMigrations.ts"
import { makeAuditLogStorePg } from "./AuditLogStorePg.ts"
import { makePermissionStorePg } from "./PermissionStorePg.ts"
import { makeRoleStorePg } from "./RoleStorePg.ts"
import { makeUserStorePg } from "./UserStorePg.ts"

/**
 * The `RepositoryStore` on PostgreSQL, through the `SqlClient`, once the migrations have run. A transaction
 * is `sql.withTransaction`, so the repositories' statements inside it (and the caller's own SQL) join it.
 */
export const make: Effect.Effect<
  RepositoryStore["Service"],
  never,
  SqlClient.SqlClient | DatabaseMigrations | Scope.Scope
> = Effect.gen(function* () {
  yield* DatabaseMigrations
  const sql = yield* SqlClient.SqlClient
  return RepositoryStore.of({
    users: makeUserStorePg(sql),
    roles: makeRoleStorePg(sql),
    permissions: makePermissionStorePg(sql),
    auditLogs: yield* makeAuditLogStorePg(sql),
    transaction: sql.withTransaction
  })
})

/** `RepositoryStore` on PostgreSQL; needs the `SqlClient` and the migrated database (`DatabaseMigrations`). */
export const layer: Layer.Layer<RepositoryStore, never, SqlClient.SqlClient | DatabaseMigrations> = Layer.effect(
  RepositoryStore,
  make
)
