import { Effect, Schema } from "effect"
import { type SqlClient, SqlResolver, SqlSchema } from "effect/sql"
import { Email, PermissionName, RoleId, User, UserId } from "../../Domain/index.ts"
import { UserPatch } from "../Front/RepositoryInputs.ts"
import type { UserStore } from "../Front/RepositoryStore.ts"
import { UserWithAccessRow } from "./AccessRows.ts"
import { makeLinkTablePg } from "./LinkTablePg.ts"
import { PermissionRow, RoleRow, UserRow } from "./Rows.ts"
import { exactlyOne, rowsOfOwner } from "./Statements.ts"
import { makeTablePg } from "./TablePg.ts"

const userColumns = "id, email, password_hash, verified, created_at, updated_at"

/** `users` and `user_roles`. */
export const makeUserStorePg = (sql: SqlClient.SqlClient): UserStore => {
  const users = makeTablePg(sql, {
    table: "users",
    columns: userColumns,
    Row: UserRow,
    Insert: User.insert,
    Id: UserId,
    Key: Email,
    key: "email"
  })

  // Concurrent lookups become one query; one array parameter, so no batch can hit the bind limit.
  const findById = SqlResolver.request(
    SqlResolver.findById({
      Id: UserId,
      Result: UserRow,
      ResultId: (user) => user.id,
      execute: (ids) => sql`SELECT ${sql.literal(userColumns)} FROM users WHERE id = ANY(${ids}::uuid[])`
    })
  )

  const rolesOf = (userId: UserId) =>
    sql<{ readonly id: unknown }>`SELECT r.id, r.name, r.description, r.created_at FROM users u
      LEFT JOIN user_roles ur ON ur.user_id = u.id
      LEFT JOIN roles r ON r.id = ur.role_id
      WHERE u.id = ${userId} ORDER BY r.name`.pipe(rowsOfOwner(RoleRow))

  const permissionsOf = (userId: UserId) =>
    sql<{ readonly id: unknown }>`SELECT DISTINCT ON (p.name) p.id, p.name, p.description, p.created_at FROM users u
      LEFT JOIN user_roles ur ON ur.user_id = u.id
      LEFT JOIN role_permissions rp ON rp.role_id = ur.role_id
      LEFT JOIN permissions p ON p.id = rp.permission_id
      WHERE u.id = ${userId} ORDER BY p.name`.pipe(rowsOfOwner(PermissionRow))

  // Walks the primary keys of user_roles and role_permissions and the unique index on permissions.name.
  const hasPermission = SqlSchema.findOne({
    Request: Schema.Struct({ userId: UserId, permission: PermissionName }),
    Result: Schema.Struct({ allowed: Schema.Boolean }),
    execute: ({ userId, permission }) => sql`SELECT EXISTS (
        SELECT 1 FROM user_roles ur
        JOIN role_permissions rp ON rp.role_id = ur.role_id
        JOIN permissions p ON p.id = rp.permission_id
        WHERE ur.user_id = ${userId} AND p.name = ${permission}
      ) AS allowed`
  })

  // One statement: the user's columns plus its roles, each with its permissions, as one json array.
  const findWithAccess = SqlSchema.findOneOption({
    Request: UserId,
    Result: UserWithAccessRow,
    execute: (userId) =>
      sql<Record<string, unknown>>`SELECT u.id, u.email, u.password_hash, u.verified, u.created_at, u.updated_at,
        COALESCE((
          SELECT json_agg(json_build_object(
            'role', json_build_object('id', r.id, 'name', r.name, 'description', r.description, 'createdAt', r.created_at),
            'permissions', COALESCE((
              SELECT json_agg(json_build_object(
                'id', p.id, 'name', p.name, 'description', p.description, 'createdAt', p.created_at
              ) ORDER BY p.name)
              FROM role_permissions rp JOIN permissions p ON p.id = rp.permission_id
              WHERE rp.role_id = r.id
            ), '[]'::json)
          ) ORDER BY r.name)
          FROM user_roles ur JOIN roles r ON r.id = ur.role_id
          WHERE ur.user_id = u.id
        ), '[]'::json) AS roles
      FROM users u WHERE u.id = ${userId}`.pipe(
        Effect.map((rows) => rows.map(({ roles, ...user }) => ({ user, roles })))
      )
  })

  return {
    insert: users.insert,
    findById: (id) =>
      findById(id).pipe(
        Effect.asSome,
        Effect.catchTag("NoSuchElementError", () => Effect.succeedNone)
      ),
    findByEmail: users.findByKey,
    list: (query) => users.list("id", query),
    update: users.update(UserPatch),
    delete: users.delete,
    roles: makeLinkTablePg(sql, {
      table: "user_roles",
      holder: { Id: UserId, table: "users", column: "user_id", key: "email", label: "email::text" },
      held: { Id: RoleId, table: "roles", column: "role_id", key: "name", label: "name" }
    }),
    rolesOf,
    permissionsOf,
    hasPermission: (userId, permission) =>
      Effect.map(exactlyOne(hasPermission({ userId, permission })), ({ allowed }) => allowed),
    findWithAccess
  }
}
