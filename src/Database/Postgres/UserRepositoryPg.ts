import { Effect, Option, Schema } from "effect"
import { SqlClient, SqlResolver, SqlSchema } from "effect/sql"
import {
  Email,
  EmailAlreadyTaken,
  newUserId,
  PasswordHash,
  Permission,
  PermissionName,
  pageFromRows,
  passwordHashFromText,
  Role,
  RoleId,
  User,
  UserId,
  UserNotFound
} from "../../Domain/index.ts"
import { DatabaseMigrations } from "../Migrations/DatabaseMigrations.ts"
import { AuditActions, userCreatedEvent, userDeletedEvent, userRoleEvent } from "../Repositories/AuditEvents.ts"
import {
  decodeCreateUser,
  decodeEmail,
  decodePageRequest,
  decodePermissionToCheck,
  decodeUpdateUser,
  redactedText,
  roleIdRule,
  userCursor,
  userIdRule,
  userNotFound,
  validUserId
} from "../Repositories/RepositoryInputs.ts"
import type { CreateUser, ListRequest, UpdateUser, UserRepository } from "../Repositories/UserRepository.ts"
import { UserWithAccessRow } from "./AccessRows.ts"
import { makeAuditTrail } from "./AuditTrail.ts"
import { LinkChange, makeLinkChanges } from "./LinkChanges.ts"
import { rowsOfOwner } from "./OwnerRows.ts"
import { recoverable } from "./Savepoint.ts"
import { mapSqlErrors } from "./SqlErrors.ts"

const userColumns = "id, email, password_hash, verified, created_at, updated_at"
const roleColumns = "r.id, r.name, r.description, r.created_at"
const permissionColumns = "p.id, p.name, p.description, p.created_at"

const UserPatch = Schema.Struct({
  email: Schema.optionalKey(Email),
  passwordHash: Schema.optionalKey(PasswordHash),
  verified: Schema.optionalKey(Schema.Boolean)
})

export const makeUserRepositoryPg: Effect.Effect<
  UserRepository["Service"],
  never,
  SqlClient.SqlClient | DatabaseMigrations
> = Effect.gen(function* () {
  yield* DatabaseMigrations
  const sql = yield* SqlClient.SqlClient
  const audit = yield* makeAuditTrail
  const columns = sql.literal(userColumns)
  const inSavepoint = recoverable(sql)
  const changeLink = makeLinkChanges(audit, userIdRule, roleIdRule, userRoleEvent)

  const insertUser = SqlSchema.findOne({
    Request: User.insert,
    Result: User,
    execute: (row) => sql`INSERT INTO users ${sql.insert(row)} RETURNING ${columns}`
  })

  // Concurrent lookups become one query; one array parameter, so no batch can hit the bind limit.
  const byIdResolver = SqlResolver.findById({
    Id: UserId,
    Result: User,
    ResultId: (user) => user.id,
    execute: (ids) => sql`SELECT ${columns} FROM users WHERE id = ANY(${ids}::uuid[])`
  })
  const findByIdBatched = SqlResolver.request(byIdResolver)

  const selectByEmail = SqlSchema.findOneOption({
    Request: Email,
    Result: User,
    execute: (email) => sql`SELECT ${columns} FROM users WHERE email = ${email}`
  })

  const selectPage = SqlSchema.findAll({
    Request: Schema.Struct({ after: Schema.NullOr(UserId), limit: Schema.Int }),
    Result: User,
    execute: ({ after, limit }) =>
      sql`SELECT ${columns} FROM users
        WHERE ${after === null ? sql.literal("TRUE") : sql`id > ${after}`}
        ORDER BY id LIMIT ${limit + 1}`
  })

  const updateRow = SqlSchema.findOneOption({
    Request: Schema.Struct({ id: UserId, patch: UserPatch }),
    Result: User,
    execute: ({ id, patch }) => sql`UPDATE users SET ${sql.update(patch)} WHERE id = ${id} RETURNING ${columns}`
  })

  const deleteRow = SqlSchema.findOneOption({
    Request: UserId,
    Result: Schema.Struct({ id: UserId, email: Schema.String }),
    execute: (id) => sql`DELETE FROM users WHERE id = ${id} RETURNING id, email`
  })

  // FOR KEY SHARE keeps the user and the role from being deleted before the link is inserted.
  const insertLink = SqlSchema.findOne({
    Request: Schema.Tuple([UserId, RoleId]),
    Result: LinkChange,
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

  const deleteLink = SqlSchema.findOne({
    Request: Schema.Tuple([UserId, RoleId]),
    Result: LinkChange,
    execute: ([userId, roleId]) => sql`
      WITH u AS (SELECT id, email FROM users WHERE id = ${userId}),
        r AS (SELECT id, name FROM roles WHERE id = ${roleId}),
        changed AS (
          DELETE FROM user_roles ur USING u, r WHERE ur.user_id = u.id AND ur.role_id = r.id RETURNING 1
        )
      SELECT (SELECT email FROM u)::text AS holder_label, (SELECT name FROM r) AS held_label,
        EXISTS (SELECT 1 FROM changed) AS changed`
  })

  const selectRoles = SqlSchema.findAll({
    Request: UserId,
    Result: Role,
    execute: (userId) =>
      sql<{ readonly id: unknown }>`SELECT ${sql.literal(roleColumns)} FROM users u
        LEFT JOIN user_roles ur ON ur.user_id = u.id
        LEFT JOIN roles r ON r.id = ur.role_id
        WHERE u.id = ${userId} ORDER BY r.name`.pipe(Effect.flatMap(rowsOfOwner(() => userNotFound(userId))))
  })

  const selectPermissions = SqlSchema.findAll({
    Request: UserId,
    Result: Permission,
    execute: (userId) =>
      sql<{ readonly id: unknown }>`SELECT DISTINCT ON (p.name) ${sql.literal(permissionColumns)} FROM users u
        LEFT JOIN user_roles ur ON ur.user_id = u.id
        LEFT JOIN role_permissions rp ON rp.role_id = ur.role_id
        LEFT JOIN permissions p ON p.id = rp.permission_id
        WHERE u.id = ${userId} ORDER BY p.name`.pipe(Effect.flatMap(rowsOfOwner(() => userNotFound(userId))))
  })

  // Walks the primary keys of user_roles and role_permissions and the unique index on permissions.name.
  const selectHasPermission = SqlSchema.findOne({
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
  const selectWithAccess = SqlSchema.findOneOption({
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

  const create = Effect.fn("UserRepository.create")(function* (input: CreateUser) {
    const { email, verified } = yield* decodeCreateUser(input)
    const passwordHash = yield* redactedText("passwordHash", input?.passwordHash, passwordHashFromText)
    const row = User.insert.make({ id: yield* newUserId, email, passwordHash, verified: verified ?? false })
    return yield* audit
      .audited(insertUser(row), (user) => Option.some(userCreatedEvent(user)))
      .pipe(
        Effect.catchTag("NoSuchElementError", Effect.die),
        mapSqlErrors("UserRepository.create", { users_email_key: () => new EmailAlreadyTaken({ email }) })
      )
  })

  const findById = Effect.fn("UserRepository.findById")(function* (id: UserId) {
    const userId = validUserId(id)
    if (Option.isNone(userId)) return yield* userNotFound(id)
    return yield* findByIdBatched(userId.value).pipe(
      Effect.catchTag("NoSuchElementError", () => Effect.fail(userNotFound(userId.value))),
      mapSqlErrors("UserRepository.findById")
    )
  })

  const findByEmail = Effect.fn("UserRepository.findByEmail")(function* (email: string) {
    const normalised = yield* decodeEmail(email)
    const user = yield* selectByEmail(normalised).pipe(mapSqlErrors("UserRepository.findByEmail"))
    if (Option.isNone(user)) return yield* new UserNotFound({ email: normalised })
    return user.value
  })

  const list = Effect.fn("UserRepository.list")(function* (request?: ListRequest) {
    const { limit, cursor } = yield* decodePageRequest(request ?? {})
    const after = cursor === undefined ? null : (yield* userCursor.decode(cursor))[0]
    const rows = yield* selectPage({ after, limit }).pipe(mapSqlErrors("UserRepository.list"))
    return pageFromRows(rows, limit, (user) => [user.id] as const, userCursor)
  })

  const update = Effect.fn("UserRepository.update")(function* (id: UserId, patch: UpdateUser) {
    const fields = yield* decodeUpdateUser(patch)
    const passwordHash =
      patch?.passwordHash === undefined
        ? undefined
        : yield* redactedText("passwordHash", patch.passwordHash, passwordHashFromText)
    const userId = validUserId(id)
    if (Option.isNone(userId)) return yield* userNotFound(id)
    const changes = { ...fields, ...(passwordHash === undefined ? {} : { passwordHash }) }
    // An empty patch changes nothing (and must not touch updated_at): it returns the current row.
    if (Object.keys(changes).length === 0) return yield* findById(userId.value)
    const user = yield* inSavepoint(updateRow({ id: userId.value, patch: changes })).pipe(
      mapSqlErrors("UserRepository.update", {
        users_email_key: () => new EmailAlreadyTaken({ email: changes.email ?? "" })
      })
    )
    if (Option.isNone(user)) return yield* userNotFound(userId.value)
    return user.value
  })

  const delete_ = Effect.fn("UserRepository.delete")(function* (id: UserId) {
    yield* audit.auditedDelete(userIdRule, id, deleteRow, userDeletedEvent).pipe(mapSqlErrors("UserRepository.delete"))
  })

  const assignRole = Effect.fn("UserRepository.assignRole")(function* (userId: UserId, roleId: RoleId) {
    return yield* changeLink("UserRepository.assignRole", insertLink, AuditActions.userRoleAssigned, userId, roleId)
  })

  const removeRole = Effect.fn("UserRepository.removeRole")(function* (userId: UserId, roleId: RoleId) {
    return yield* changeLink("UserRepository.removeRole", deleteLink, AuditActions.userRoleRemoved, userId, roleId)
  })

  const rolesOf = Effect.fn("UserRepository.rolesOf")(function* (id: UserId) {
    const userId = validUserId(id)
    if (Option.isNone(userId)) return yield* userNotFound(id)
    return yield* selectRoles(userId.value).pipe(mapSqlErrors("UserRepository.rolesOf"))
  })

  const permissionsOf = Effect.fn("UserRepository.permissionsOf")(function* (id: UserId) {
    const userId = validUserId(id)
    if (Option.isNone(userId)) return yield* userNotFound(id)
    return yield* selectPermissions(userId.value).pipe(mapSqlErrors("UserRepository.permissionsOf"))
  })

  const hasPermission = Effect.fn("UserRepository.hasPermission")(function* (
    id: UserId,
    permission: PermissionName | string
  ) {
    const name = yield* decodePermissionToCheck(permission)
    const userId = validUserId(id)
    // An unknown user holds nothing, and a malformed id cannot name one.
    if (Option.isNone(userId)) return false
    const { allowed } = yield* selectHasPermission({ userId: userId.value, permission: name }).pipe(
      Effect.catchTag("NoSuchElementError", Effect.die),
      mapSqlErrors("UserRepository.hasPermission")
    )
    return allowed
  })

  const findWithAccess = Effect.fn("UserRepository.findWithAccess")(function* (id: UserId) {
    const userId = validUserId(id)
    if (Option.isNone(userId)) return yield* userNotFound(id)
    const access = yield* selectWithAccess(userId.value).pipe(mapSqlErrors("UserRepository.findWithAccess"))
    if (Option.isNone(access)) return yield* userNotFound(userId.value)
    return access.value
  })

  return {
    create,
    findById,
    findByEmail,
    list,
    update,
    delete: delete_,
    assignRole,
    removeRole,
    rolesOf,
    permissionsOf,
    hasPermission,
    findWithAccess
  }
})
