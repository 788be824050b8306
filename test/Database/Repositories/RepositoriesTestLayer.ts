import { Layer } from "effect"
import { RepositoriesLayer } from "../../../src/Database/RepositoryLayers.ts"
import { TestDatabaseLayer } from "../../support/TestDatabase.ts"

/** The PostgreSQL repositories on a fresh database of their own, plus its `SqlClient`, `PgClient` and `AppConfig`. */
export const RepositoriesTestLayer = (env: Record<string, string> = {}) =>
  RepositoriesLayer.pipe(Layer.provideMerge(TestDatabaseLayer(env)))
