import { Layer } from "effect"
import * as RepositoryLayers from "../../src/Database/RepositoryLayers.ts"
import { TestDatabaseLayer } from "./TestDatabase.ts"

/** The PostgreSQL repositories on a fresh database of their own, plus its `SqlClient`, `PgClient` and `AppConfig`. */
export const RepositoriesTestLayer = (env: Record<string, string> = {}) =>
  RepositoryLayers.layer.pipe(Layer.provideMerge(TestDatabaseLayer(env)))
