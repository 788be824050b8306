import { Schema } from "effect"
import { type SqlClient, SqlSchema } from "effect/sql"
import { Permission, PermissionId, Role, RoleId, RoleName } from "../../Domain/index.ts"
import { RolePatch } from "../Front/RepositoryInputs.ts"
import type { RoleStore } from "../Front/RepositoryStore.ts"
import { makeNamedRowStorePg, namedRowColumns } from "./NamedRowStorePg.ts"
import { exactlyOne, keyTakenOn, LinkChangeRow, recoverable, rowsOfOwner } from "./Statements.ts"

const permissionColumns = "p.id, p.name, p.description, p.created_at"

/** `roles` and `role_permissions`. */
export const makeRoleStorePg = (sql: SqlClient.SqlClient): RoleStore => {
  const columns = sql.literal(namedRowColumns)

  const list = SqlSchema.findAll({
    Request: Schema.Struct({ after: Schema.UndefinedOr(RoleName), limit: Schema.Int }),
    Result: Role,
    execute: ({ after, limit }) =>
      sql`SELECT ${columns} FROM roles
        WHERE ${after === undefined ? sql.literal("TRUE") : sql`name > ${after}`}
        ORDER BY name LIMIT ${limit}`
  })

  const update = SqlSchema.findOneOption({
    Request: Schema.Struct({ id: RoleId, patch: RolePatch }),
    Result: Role,
    execute: ({ id, patch }) => sql`UPDATE roles SET ${sql.update(patch)} WHERE id = ${id} RETURNING ${columns}`
  })

  // FOR KEY SHARE keeps the role and the permission from being deleted before the grant is inserted.
  const grant = SqlSchema.findOne({
    Request: Schema.Tuple([RoleId, PermissionId]),
    Result: LinkChangeRow,
    execute: ([roleId, permissionId]) => sql`
      WITH r AS (SELECT id, name FROM roles WHERE id = ${roleId} FOR KEY SHARE),
        p AS (SELECT id, name FROM permissions WHERE id = ${permissionId} FOR KEY SHARE),
        changed AS (
          INSERT INTO role_permissions (role_id, permission_id) SELECT r.id, p.id FROM r CROSS JOIN p
          ON CONFLICT DO NOTHING RETURNING 1
        )
      SELECT (SELECT name FROM r) AS holder_label, (SELECT name FROM p) AS held_label,
        EXISTS (SELECT 1 FROM changed) AS changed`
  })

  const revoke = SqlSchema.findOne({
    Request: Schema.Tuple([RoleId, PermissionId]),
    Result: LinkChangeRow,
    execute: ([roleId, permissionId]) => sql`
      WITH r AS (SELECT id, name FROM roles WHERE id = ${roleId}),
        p AS (SELECT id, name FROM permissions WHERE id = ${permissionId}),
        changed AS (
          DELETE FROM role_permissions rp USING r, p
          WHERE rp.role_id = r.id AND rp.permission_id = p.id RETURNING 1
        )
      SELECT (SELECT name FROM r) AS holder_label, (SELECT name FROM p) AS held_label,
        EXISTS (SELECT 1 FROM changed) AS changed`
  })

  const permissionsOf = (roleId: RoleId) =>
    sql<{ readonly id: unknown }>`SELECT ${sql.literal(permissionColumns)} FROM roles r
      LEFT JOIN role_permissions rp ON rp.role_id = r.id
      LEFT JOIN permissions p ON p.id = rp.permission_id
      WHERE r.id = ${roleId} ORDER BY p.name`.pipe(rowsOfOwner(Permission))

  return {
    ...makeNamedRowStorePg(sql, { table: "roles", Row: Role, Insert: Role.insert, Id: RoleId, Name: RoleName }),
    list,
    update: (id, patch) => keyTakenOn("roles_name_key")(recoverable(sql)(update({ id, patch }))),
    permissions: {
      add: (roleId, permissionId) => exactlyOne(grant([roleId, permissionId])),
      remove: (roleId, permissionId) => exactlyOne(revoke([roleId, permissionId]))
    },
    permissionsOf
  }
}
