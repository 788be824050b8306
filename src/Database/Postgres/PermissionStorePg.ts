import { Schema } from "effect"
import { type SqlClient, SqlSchema } from "effect/sql"
import { Permission, PermissionId, PermissionName } from "../../Domain/index.ts"
import { PermissionModule } from "../Front/RepositoryInputs.ts"
import type { PermissionStore } from "../Front/RepositoryStore.ts"
import { makeNamedRowStorePg, namedRowColumns } from "./NamedRowStorePg.ts"

/** `permissions`. */
export const makePermissionStorePg = (sql: SqlClient.SqlClient): PermissionStore => {
  const columns = sql.literal(namedRowColumns)

  // starts_with rather than LIKE: the module may contain '_', a LIKE wildcard.
  const list = SqlSchema.findAll({
    Request: Schema.Struct({
      after: Schema.UndefinedOr(PermissionName),
      module: Schema.UndefinedOr(PermissionModule),
      limit: Schema.Int
    }),
    Result: Permission,
    execute: ({ after, module, limit }) =>
      sql`SELECT ${columns} FROM permissions
        WHERE ${sql.and([
          ...(after === undefined ? [] : [sql`name > ${after}`]),
          ...(module === undefined ? [] : [sql`starts_with(name, ${`${module}.`})`])
        ])}
        ORDER BY name LIMIT ${limit}`
  })

  return {
    ...makeNamedRowStorePg(sql, {
      table: "permissions",
      Row: Permission,
      Insert: Permission.insert,
      Id: PermissionId,
      Name: PermissionName
    }),
    list
  }
}
