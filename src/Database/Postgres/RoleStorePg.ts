import type { SqlClient } from "effect/sql"
import { PermissionId, Role, RoleId, RoleName } from "../../Domain/index.ts"
import { RolePatch } from "../Front/RepositoryInputs.ts"
import type { RoleStore } from "../Front/RepositoryStore.ts"
import { makeLinkTablePg } from "./LinkTablePg.ts"
import { PermissionRow, RoleRow } from "./Rows.ts"
import { rowsOfOwner } from "./Statements.ts"
import { makeTablePg, namedRowColumns } from "./TablePg.ts"

/** `roles` and `role_permissions`. */
export const makeRoleStorePg = (sql: SqlClient.SqlClient, reads: SqlClient.SqlClient = sql): RoleStore => {
  const roles = makeTablePg(
    sql,
    {
      table: "roles",
      columns: namedRowColumns,
      Row: RoleRow,
      Insert: Role.insert,
      Id: RoleId,
      Key: RoleName,
      key: "name"
    },
    reads
  )

  const permissionsOf = (roleId: RoleId) =>
    reads<{ readonly id: unknown }>`SELECT p.id, p.name, p.description, p.created_at FROM roles r
      LEFT JOIN role_permissions rp ON rp.role_id = r.id
      LEFT JOIN permissions p ON p.id = rp.permission_id
      WHERE r.id = ${roleId} ORDER BY p.name`.pipe(rowsOfOwner(PermissionRow))

  return {
    insert: roles.insert,
    insertOrGetAll: roles.insertOrGetAll,
    findById: roles.findById,
    findByName: roles.findByKey,
    list: (query) => roles.list("name", query),
    update: roles.update(RolePatch),
    delete: roles.delete,
    permissions: makeLinkTablePg(sql, {
      table: "role_permissions",
      holder: { Id: RoleId, table: "roles", column: "role_id", key: "name", label: "name" },
      held: { Id: PermissionId, table: "permissions", column: "permission_id", key: "name", label: "name" }
    }),
    permissionsOf
  }
}
