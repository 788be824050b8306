import { Effect, Layer, Option, type Scope } from "effect"
import { SqlClient } from "effect/sql"
import { withPermissionCache } from "../Access/CachedRepositoryStore.ts"
import { PermissionCache } from "../Access/PermissionCache.ts"
import { RepositoryStore } from "../Front/RepositoryStore.ts"
import { DatabaseMigrations } from "../Migrations/DatabaseMigrations.ts"
import { ReadReplicas } from "../Topology/ReadReplicas.ts"
import { makeAuditLogStorePg } from "./AuditLogStorePg.ts"
import { LookupBatching } from "./BatchedLookup.ts"
import { makePermissionStorePg } from "./PermissionStorePg.ts"
import { makeRoleStorePg } from "./RoleStorePg.ts"
import { makeUserStorePg } from "./UserStorePg.ts"

/**
 * The `RepositoryStore` on PostgreSQL, through the `SqlClient`, once the migrations have run. A transaction
 * is `sql.withTransaction`, so the repositories' statements inside it (and the caller's own SQL) join it.
 * When a `PermissionCache` that is on is provided, `hasPermission` goes through it (see `withPermissionCache`).
 */
export const make: Effect.Effect<
  RepositoryStore["Service"],
  never,
  SqlClient.SqlClient | DatabaseMigrations | Scope.Scope
> = Effect.gen(function* () {
  yield* DatabaseMigrations
  const sql = yield* SqlClient.SqlClient
  // Lag-tolerant reads go to the replicas when `database.readFrom` says so (see `ReadReplicas`).
  const reads = Option.match(yield* Effect.serviceOption(ReadReplicas), {
    onNone: () => sql,
    onSome: (replicas) => replicas.sql
  })
  const cache = yield* Effect.serviceOption(PermissionCache)
  const store = RepositoryStore.of({
    users: makeUserStorePg(sql, reads, yield* LookupBatching),
    roles: makeRoleStorePg(sql, reads),
    permissions: makePermissionStorePg(sql, reads),
    auditLogs: yield* makeAuditLogStorePg(sql, reads),
    transaction: sql.withTransaction
  })
  return Option.isSome(cache) && cache.value.enabled ? withPermissionCache(store, cache.value, sql) : store
})

/** `RepositoryStore` on PostgreSQL; needs the `SqlClient` and the migrated database (`DatabaseMigrations`). */
export const layer: Layer.Layer<RepositoryStore, never, SqlClient.SqlClient | DatabaseMigrations> = Layer.effect(
  RepositoryStore,
  make
)
