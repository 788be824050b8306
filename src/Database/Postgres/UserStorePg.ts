import { Effect, Schema } from "effect"
import { type SqlClient, SqlResolver, SqlSchema } from "effect/sql"
import { Email, Permission, PermissionName, Role, RoleId, User, UserId } from "../../Domain/index.ts"
import { UserPatch } from "../Front/RepositoryInputs.ts"
import type { UserStore } from "../Front/RepositoryStore.ts"
import { UserWithAccessRow } from "./AccessRows.ts"
import { exactlyOne, keyTakenOn, LinkChangeRow, recoverable, rowsOfOwner } from "./Statements.ts"

const userColumns = "id, email, password_hash, verified, created_at, updated_at"
const roleColumns = "r.id, r.name, r.description, r.created_at"
const permissionColumns = "p.id, p.name, p.description, p.created_at"

/** `users` and `user_roles`. */
export const makeUserStorePg = (sql: SqlClient.SqlClient): UserStore => {
  const columns = sql.literal(userColumns)
  const emailTaken = keyTakenOn("users_email_key")

  const insert = SqlSchema.findOne({
    Request: User.insert,
    Result: User,
    execute: (row) => sql`INSERT INTO users ${sql.insert(row)} RETURNING ${columns}`
  })

  // Concurrent lookups become one query; one array parameter, so no batch can hit the bind limit.
  const findById = SqlResolver.request(
    SqlResolver.findById({
      Id: UserId,
      Result: User,
      ResultId: (user) => user.id,
      execute: (ids) => sql`SELECT ${columns} FROM users WHERE id = ANY(${ids}::uuid[])`
    })
  )

  const findByEmail = SqlSchema.findOneOption({
    Request: Email,
    Result: User,
    execute: (email) => sql`SELECT ${columns} FROM users WHERE email = ${email}`
  })

  const list = SqlSchema.findAll({
    Request: Schema.Struct({ after: Schema.UndefinedOr(UserId), limit: Schema.Int }),
    Result: User,
    execute: ({ after, limit }) =>
      sql`SELECT ${columns} FROM users
        WHERE ${after === undefined ? sql.literal("TRUE") : sql`id > ${after}`}
        ORDER BY id LIMIT ${limit}`
  })

  const update = SqlSchema.findOneOption({
    Request: Schema.Struct({ id: UserId, patch: UserPatch }),
    Result: User,
    execute: ({ id, patch }) => sql`UPDATE users SET ${sql.update(patch)} WHERE id = ${id} RETURNING ${columns}`
  })

  const delete_ = SqlSchema.findOneOption({
    Request: UserId,
    Result: Schema.Struct({ id: UserId, email: Schema.String }),
    execute: (id) => sql`DELETE FROM users WHERE id = ${id} RETURNING id, email`
  })

  // FOR KEY SHARE keeps the user and the role from being deleted before the link is inserted.
  const addRole = SqlSchema.findOne({
    Request: Schema.Tuple([UserId, RoleId]),
    Result: LinkChangeRow,
    execute: ([userId, roleId]) => sql`
      WITH u AS (SELECT id, email FROM users WHERE id = ${userId} FOR KEY SHARE),
        r AS (SELECT id, name FROM roles WHERE id = ${roleId} FOR KEY SHARE),
        changed AS (
          INSERT INTO user_roles (user_id, role_id) SELECT u.id, r.id FROM u CROSS JOIN r
          ON CONFLICT DO NOTHING RETURNING 1
        )
      SELECT (SELECT email FROM u)::text AS holder_label, (SELECT name FROM r) AS held_label,
        EXISTS (SELECT 1 FROM changed) AS changed`
  })

  const removeRole = SqlSchema.findOne({
    Request: Schema.Tuple([UserId, RoleId]),
    Result: LinkChangeRow,
    execute: ([userId, roleId]) => sql`
      WITH u AS (SELECT id, email FROM users WHERE id = ${userId}),
        r AS (SELECT id, name FROM roles WHERE id = ${roleId}),
        changed AS (
          DELETE FROM user_roles ur USING u, r WHERE ur.user_id = u.id AND ur.role_id = r.id RETURNING 1
        )
      SELECT (SELECT email FROM u)::text AS holder_label, (SELECT name FROM r) AS held_label,
        EXISTS (SELECT 1 FROM changed) AS changed`
  })

  const rolesOf = (userId: UserId) =>
    sql<{ readonly id: unknown }>`SELECT ${sql.literal(roleColumns)} FROM users u
      LEFT JOIN user_roles ur ON ur.user_id = u.id
      LEFT JOIN roles r ON r.id = ur.role_id
      WHERE u.id = ${userId} ORDER BY r.name`.pipe(rowsOfOwner(Role))

  const permissionsOf = (userId: UserId) =>
    sql<{ readonly id: unknown }>`SELECT DISTINCT ON (p.name) ${sql.literal(permissionColumns)} FROM users u
      LEFT JOIN user_roles ur ON ur.user_id = u.id
      LEFT JOIN role_permissions rp ON rp.role_id = ur.role_id
      LEFT JOIN permissions p ON p.id = rp.permission_id
      WHERE u.id = ${userId} ORDER BY p.name`.pipe(rowsOfOwner(Permission))

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
    // The front inserts inside the transaction that also records the audit entry, which a violation rolls back.
    insert: (row) => emailTaken(exactlyOne(insert(row))),
    findById: (id) =>
      findById(id).pipe(
        Effect.asSome,
        Effect.catchTag("NoSuchElementError", () => Effect.succeedNone)
      ),
    findByEmail,
    list,
    update: (id, patch) => emailTaken(recoverable(sql)(update({ id, patch }))),
    delete: delete_,
    roles: {
      add: (userId, roleId) => exactlyOne(addRole([userId, roleId])),
      remove: (userId, roleId) => exactlyOne(removeRole([userId, roleId]))
    },
    rolesOf,
    permissionsOf,
    hasPermission: (userId, permission) =>
      Effect.map(exactlyOne(hasPermission({ userId, permission })), ({ allowed }) => allowed),
    findWithAccess
  }
}
