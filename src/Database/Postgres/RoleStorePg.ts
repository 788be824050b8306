import { Effect, Schema } from "effect"
import type { SqlClient } from "effect/sql"
import { PermissionId, Role, RoleId } from "../../Domain/index.ts"
import type { EncodedRow } from "../Entity/EntityStore.ts"
import { makeEntityTablePg } from "../Entity/EntityStorePg.ts"
import { kernelConstraints, Roles } from "../Entity/KernelEntities.ts"
import { kernelFailure, makeNamedRowTable } from "../Entity/NamedRowTable.ts"
import { RolePatch } from "../Front/RepositoryInputs.ts"
import type { RoleStore } from "../Front/RepositoryStore.ts"
import { makeLinkTablePg } from "./LinkTablePg.ts"
import { PermissionRow, RoleRow } from "./Rows.ts"
import { rowsOfOwner } from "./Statements.ts"

const encodePatch = Schema.encodeEffect(RolePatch) as (
  patch: typeof RolePatch.Type
) => Effect.Effect<EncodedRow, Schema.SchemaError>

/** `roles` (the kit's table of the `Roles` declaration) and `role_permissions`; lag-tolerant reads through `reads`. */
export const makeRoleStorePg = (sql: SqlClient.SqlClient, reads: SqlClient.SqlClient = sql): RoleStore => {
  const roles = makeEntityTablePg(sql, Roles, kernelConstraints.roles, { decode: RoleRow, reads })

  const permissionsOf = (roleId: RoleId) =>
    reads<{ readonly id: unknown }>`SELECT p.id, p.name, p.description, p.created_at FROM roles r
      LEFT JOIN role_permissions rp ON rp.role_id = r.id
      LEFT JOIN permissions p ON p.id = rp.permission_id
      WHERE r.id = ${roleId} ORDER BY p.name`.pipe(rowsOfOwner(PermissionRow))

  return {
    ...makeNamedRowTable(roles, { entity: Roles, Insert: Role.insert }),
    update: (id, patch) => kernelFailure(Effect.flatMap(encodePatch(patch), (changes) => roles.update(id, changes))),
    permissions: makeLinkTablePg(sql, {
      table: "role_permissions",
      holder: { Id: RoleId, table: "roles", column: "role_id", key: "name", label: "name" },
      held: { Id: PermissionId, table: "permissions", column: "permission_id", key: "name", label: "name" }
    }),
    permissionsOf
  }
}
