import { type Array as Arr, Effect, Option } from "effect"
import type { SqlClient, Statement } from "effect/sql"
import { Email, type PermissionName, RoleId, User, UserId } from "../../Domain/index.ts"
import { UserPatch } from "../Front/RepositoryInputs.ts"
import type { UserStore } from "../Front/RepositoryStore.ts"
import { UserWithAccessRowSchema } from "./AccessRows.ts"
import { type BatchedLookupName, batchedLookup, DefaultLookupBatching, type OrdinalRow } from "./BatchedLookup.ts"
import { makeLinkTablePg } from "./LinkTablePg.ts"
import { decodeRowWith, PermissionRow, RoleRow, UserRow, userFromRow, userWithAccessFromRow } from "./Rows.ts"
import { rowsOfOwner } from "./Statements.ts"
import { makeTablePg } from "./TablePg.ts"

const userColumns = "id, email, password_hash, verified, created_at, updated_at"
const qualifiedUserColumns = "u.id, u.email, u.password_hash, u.verified, u.created_at, u.updated_at"

/**
 * `users` and `user_roles`; lag-tolerant reads through `reads` (see `ReadReplicas`); `batching` says which hot
 * reads are batched (see `LookupBatching`).
 */
export const makeUserStorePg = (
  sql: SqlClient.SqlClient,
  reads: SqlClient.SqlClient = sql,
  batching: Readonly<Record<BatchedLookupName, boolean>> = DefaultLookupBatching
): UserStore => {
  const users = makeTablePg(
    sql,
    {
      table: "users",
      columns: userColumns,
      Row: UserRow,
      Insert: User.insert,
      Id: UserId,
      Key: Email,
      key: "email"
    },
    reads
  )

  const decodeUser = decodeRowWith(User, userFromRow)

  // The hot reads are batched (BatchedLookup.ts) where `batching` says so: concurrent calls of one kind become one statement over an
  // array of keys (one bind parameter whatever the batch size), each row naming the position of its key.
  // Each key is looked up through the index of its column (test/Database/Plans.test.ts).
  const findById = batchedLookup(reads, {
    execute: (ids: Arr.NonEmptyReadonlyArray<UserId>) =>
      reads<OrdinalRow>`SELECT q.ord, ${sql.literal(qualifiedUserColumns)}
        FROM unnest(${ids}::uuid[]) WITH ORDINALITY AS q(id, ord) JOIN users u ON u.id = q.id`,
    executeOne: (id) => reads<OrdinalRow>`SELECT 1 AS ord, ${sql.literal(userColumns)} FROM users WHERE id = ${id}`,
    decode: decodeUser,
    batched: batching.findById
  })

  // citext: the e-mail matches whatever the case of the stored address.
  const findByEmail = batchedLookup(reads, {
    execute: (emails: Arr.NonEmptyReadonlyArray<Email>) =>
      reads<OrdinalRow>`SELECT q.ord, ${sql.literal(qualifiedUserColumns)}
        FROM unnest(${emails}::citext[]) WITH ORDINALITY AS q(email, ord) JOIN users u ON u.email = q.email`,
    executeOne: (email) =>
      reads<OrdinalRow>`SELECT 1 AS ord, ${sql.literal(userColumns)} FROM users WHERE email = ${email}`,
    decode: decodeUser,
    batched: batching.findByEmail
  })

  const rolesOf = (userId: UserId) =>
    reads<{ readonly id: unknown }>`SELECT r.id, r.name, r.description, r.created_at FROM users u
      LEFT JOIN user_roles ur ON ur.user_id = u.id
      LEFT JOIN roles r ON r.id = ur.role_id
      WHERE u.id = ${userId} ORDER BY r.name`.pipe(rowsOfOwner(RoleRow))

  const permissionsOf = (userId: UserId) =>
    reads<{ readonly id: unknown }>`SELECT DISTINCT ON (p.name) p.id, p.name, p.description, p.created_at FROM users u
      LEFT JOIN user_roles ur ON ur.user_id = u.id
      LEFT JOIN role_permissions rp ON rp.role_id = ur.role_id
      LEFT JOIN permissions p ON p.id = rp.permission_id
      WHERE u.id = ${userId} ORDER BY p.name`.pipe(rowsOfOwner(PermissionRow))

  // One row per (user, permission) pair, whatever the answer; each walks the primary keys of user_roles and
  // role_permissions and the unique index on permissions.name.
  const holds = (userId: Statement.Fragment, permission: Statement.Fragment) => sql`EXISTS (
          SELECT 1 FROM user_roles ur
          JOIN role_permissions rp ON rp.role_id = ur.role_id
          JOIN permissions p ON p.id = rp.permission_id
          WHERE ur.user_id = ${userId} AND p.name = ${permission}
        )`
  const hasPermission = batchedLookup(sql, {
    execute: (checks: Arr.NonEmptyReadonlyArray<readonly [UserId, PermissionName]>) =>
      sql<
        OrdinalRow & { readonly allowed: unknown }
      >`SELECT q.ord, ${holds(sql`q.user_id`, sql`q.permission`)} AS allowed
        FROM unnest(${checks.map(([userId]) => userId)}::uuid[], ${checks.map(([, permission]) => permission)}::text[])
          WITH ORDINALITY AS q(user_id, permission, ord)`,
    executeOne: ([userId, permission]) =>
      sql<
        OrdinalRow & { readonly allowed: unknown }
      >`SELECT 1 AS ord, ${holds(sql`${userId}`, sql`${permission}`)} AS allowed`,
    decode: (row) => Effect.succeed(row.allowed === true),
    batched: batching.hasPermission
  })

  // One statement: each user's columns plus its roles, each with its permissions, as one json array.
  const decodeAccess = decodeRowWith(UserWithAccessRowSchema, userWithAccessFromRow)
  const withAccess = (ord: Statement.Fragment, from: Statement.Fragment) => reads<
    OrdinalRow & Record<string, unknown>
  >`SELECT ${ord}, u.id, u.email, u.password_hash, u.verified, u.created_at, u.updated_at,
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
      FROM ${from}`
  const findWithAccess = batchedLookup(reads, {
    execute: (ids: Arr.NonEmptyReadonlyArray<UserId>) =>
      withAccess(sql`q.ord`, sql`unnest(${ids}::uuid[]) WITH ORDINALITY AS q(id, ord) JOIN users u ON u.id = q.id`),
    executeOne: (id) => withAccess(sql`1 AS ord`, sql`users u WHERE u.id = ${id}`),
    decode: ({ ord: _, roles, ...user }) => decodeAccess({ user, roles }),
    batched: batching.findWithAccess
  })

  return {
    insert: users.insert,
    findById,
    findByEmail,
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
      Effect.flatMap(hasPermission([userId, permission]), (allowed) =>
        Option.isSome(allowed) ? Effect.succeed(allowed.value) : Effect.die(new Error("hasPermission: no row"))
      ),
    findWithAccess
  }
}
