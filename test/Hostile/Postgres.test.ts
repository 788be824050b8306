import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { RepositoriesTestLayer } from "../support/RepositoriesTestLayer.ts"
import { hostileInputSuite, RowCounts } from "./HostileSuite.ts"

// One statement for every table, on the connection of the calling fiber's transaction.
const countRows = Layer.effect(
  RowCounts,
  Effect.map(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<Record<string, number>>`SELECT
        (SELECT count(*) FROM users)::int AS users,
        (SELECT count(*) FROM roles)::int AS roles,
        (SELECT count(*) FROM permissions)::int AS permissions,
        (SELECT count(*) FROM user_roles)::int AS user_roles,
        (SELECT count(*) FROM role_permissions)::int AS role_permissions,
        (SELECT count(*) FROM audit_logs)::int AS audit_logs`,
      ([counts]) => counts!
    )
  )
)

hostileInputSuite("PostgreSQL", countRows.pipe(Layer.provideMerge(RepositoriesTestLayer())))
