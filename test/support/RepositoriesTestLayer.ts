import { Layer } from "effect"
import { PermissionCache } from "../../src/Database/Access/PermissionCache.ts"
import * as RepositoryLayers from "../../src/Database/RepositoryLayers.ts"
import { TestDatabaseLayer } from "./TestDatabase.ts"

/** The PostgreSQL repositories on a fresh database of their own, plus its `SqlClient`, `PgClient` and `AppConfig`. */
export const RepositoriesTestLayer = (env: Record<string, string> = {}) =>
  RepositoryLayers.layer.pipe(Layer.provideMerge(TestDatabaseLayer(env)))

/** As `RepositoriesTestLayer`, with `PermissionCache.layer` (as `database.permissionCache` says) under the repositories. */
export const CachedRepositoriesTestLayer = (env: Record<string, string> = {}) =>
  RepositoryLayers.layer.pipe(Layer.provideMerge(PermissionCache.layer), Layer.provideMerge(TestDatabaseLayer(env)))
