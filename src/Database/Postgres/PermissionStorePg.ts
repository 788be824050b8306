import type { SqlClient } from "effect/sql"
import { Permission, PermissionId, PermissionName } from "../../Domain/index.ts"
import type { PermissionStore } from "../Front/RepositoryStore.ts"
import { PermissionRow } from "./Rows.ts"
import { makeTablePg, namedRowColumns } from "./TablePg.ts"

/** `permissions`. */
export const makePermissionStorePg = (sql: SqlClient.SqlClient, reads: SqlClient.SqlClient = sql): PermissionStore => {
  const permissions = makeTablePg(
    sql,
    {
      table: "permissions",
      columns: namedRowColumns,
      Row: PermissionRow,
      Insert: Permission.insert,
      Id: PermissionId,
      Key: PermissionName,
      key: "name"
    },
    reads
  )
  return {
    insert: permissions.insert,
    insertOrGetAll: permissions.insertOrGetAll,
    findById: permissions.findById,
    findByName: permissions.findByKey,
    // starts_with rather than LIKE: the module may contain '_', a LIKE wildcard.
    list: (query) =>
      permissions.list(
        "name",
        query,
        query.module === undefined ? [] : [sql`starts_with(name, ${`${query.module}.`})`]
      ),
    delete: permissions.delete
  }
}
