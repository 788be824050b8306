import { Effect, Option, Schema } from "effect"
import { SqlClient, SqlSchema } from "effect/sql"
import {
  decodeInput,
  makeCursorCodec,
  newRoleId,
  Permission,
  PermissionId,
  PermissionNotFound,
  pageFromRows,
  Role,
  RoleDescription,
  RoleId,
  RoleName,
  RoleNameTaken,
  RoleNotFound
} from "../../Domain/index.ts"
import { DatabaseMigrations } from "../Migrations/DatabaseMigrations.ts"
import type { CreateRole, RoleRepository, UpdateRole } from "../Repositories/RoleRepository.ts"
import type { ListRequest } from "../Repositories/UserRepository.ts"
import { AuditActions, makeAuditTrail } from "./AuditTrail.ts"
import { ensureByName } from "./EnsureByName.ts"
import { decodePageRequest, validId } from "./Inputs.ts"
import { rowsOfOwner } from "./OwnerRows.ts"
import { recoverable } from "./Savepoint.ts"
import { mapSqlErrors } from "./SqlErrors.ts"

const roleColumns = "id, name, description, created_at"
const permissionColumns = "p.id, p.name, p.description, p.created_at"

const roleCursor = makeCursorCodec(Schema.Tuple([RoleName]))

const decodeCreate = decodeInput(Schema.Struct({ name: RoleName, description: Schema.optionalKey(RoleDescription) }))
const decodeUpdate = decodeInput(
  Schema.Struct({ name: Schema.optionalKey(RoleName), description: Schema.optionalKey(RoleDescription) })
)
const decodeName = decodeInput(RoleName, "name")

// What a grant or revocation found: null owner columns mean that role or permission does not exist.
const GrantChange = Schema.Struct({
  roleName: Schema.NullOr(Schema.String),
  permissionName: Schema.NullOr(Schema.String),
  changed: Schema.Boolean
})

const validRoleId = validId(RoleId)
const validPermissionId = validId(PermissionId)

// A malformed id names no role; the error still reports what the caller asked for.
const roleNotFound = (id: string) => new RoleNotFound({ id: id as RoleId }, { disableChecks: true })
const permissionNotFound = (id: string) => new PermissionNotFound({ id: id as PermissionId }, { disableChecks: true })

export const makeRoleRepositoryPg: Effect.Effect<
  RoleRepository["Service"],
  never,
  SqlClient.SqlClient | DatabaseMigrations
> = Effect.gen(function* () {
  yield* DatabaseMigrations
  const sql = yield* SqlClient.SqlClient
  const audit = yield* makeAuditTrail
  const columns = sql.literal(roleColumns)
  const inSavepoint = recoverable(sql)

  const insertRole = SqlSchema.findOne({
    Request: Role.insert,
    Result: Role,
    execute: (row) => sql`INSERT INTO roles ${sql.insert(row)} RETURNING ${columns}`
  })

  const insertIfAbsent = SqlSchema.findOneOption({
    Request: Role.insert,
    Result: Role,
    execute: (row) => sql`INSERT INTO roles ${sql.insert(row)} ON CONFLICT (name) DO NOTHING RETURNING ${columns}`
  })

  const selectById = SqlSchema.findOneOption({
    Request: RoleId,
    Result: Role,
    execute: (id) => sql`SELECT ${columns} FROM roles WHERE id = ${id}`
  })

  const selectByName = SqlSchema.findOneOption({
    Request: RoleName,
    Result: Role,
    execute: (name) => sql`SELECT ${columns} FROM roles WHERE name = ${name}`
  })

  const selectPage = SqlSchema.findAll({
    Request: Schema.Struct({ after: Schema.NullOr(RoleName), limit: Schema.Int }),
    Result: Role,
    execute: ({ after, limit }) =>
      sql`SELECT ${columns} FROM roles
        WHERE ${after === null ? sql.literal("TRUE") : sql`name > ${after}`}
        ORDER BY name LIMIT ${limit + 1}`
  })

  const updateRow = SqlSchema.findOneOption({
    Request: Schema.Struct({
      id: RoleId,
      patch: Schema.Struct({ name: Schema.optionalKey(RoleName), description: Schema.optionalKey(RoleDescription) })
    }),
    Result: Role,
    execute: ({ id, patch }) => sql`UPDATE roles SET ${sql.update(patch)} WHERE id = ${id} RETURNING ${columns}`
  })

  const deleteRow = SqlSchema.findOneOption({
    Request: RoleId,
    Result: Schema.Struct({ id: RoleId, name: Schema.String }),
    execute: (id) => sql`DELETE FROM roles WHERE id = ${id} RETURNING id, name`
  })

  // FOR KEY SHARE keeps the role and the permission from being deleted before the grant is inserted.
  const insertGrant = SqlSchema.findOne({
    Request: Schema.Struct({ roleId: RoleId, permissionId: PermissionId }),
    Result: GrantChange,
    execute: ({ roleId, permissionId }) => sql`
      WITH r AS (SELECT id, name FROM roles WHERE id = ${roleId} FOR KEY SHARE),
        p AS (SELECT id, name FROM permissions WHERE id = ${permissionId} FOR KEY SHARE),
        changed AS (
          INSERT INTO role_permissions (role_id, permission_id) SELECT r.id, p.id FROM r CROSS JOIN p
          ON CONFLICT DO NOTHING RETURNING 1
        )
      SELECT (SELECT name FROM r) AS role_name, (SELECT name FROM p) AS permission_name,
        EXISTS (SELECT 1 FROM changed) AS changed`
  })

  const deleteGrant = SqlSchema.findOne({
    Request: Schema.Struct({ roleId: RoleId, permissionId: PermissionId }),
    Result: GrantChange,
    execute: ({ roleId, permissionId }) => sql`
      WITH r AS (SELECT id, name FROM roles WHERE id = ${roleId}),
        p AS (SELECT id, name FROM permissions WHERE id = ${permissionId}),
        changed AS (
          DELETE FROM role_permissions rp USING r, p
          WHERE rp.role_id = r.id AND rp.permission_id = p.id RETURNING 1
        )
      SELECT (SELECT name FROM r) AS role_name, (SELECT name FROM p) AS permission_name,
        EXISTS (SELECT 1 FROM changed) AS changed`
  })

  const selectPermissions = SqlSchema.findAll({
    Request: RoleId,
    Result: Permission,
    execute: (roleId) =>
      sql<{ readonly id: unknown }>`SELECT ${sql.literal(permissionColumns)} FROM roles r
        LEFT JOIN role_permissions rp ON rp.role_id = r.id
        LEFT JOIN permissions p ON p.id = rp.permission_id
        WHERE r.id = ${roleId} ORDER BY p.name`.pipe(Effect.flatMap(rowsOfOwner(() => roleNotFound(roleId))))
  })

  const create = Effect.fn("RoleRepository.create")(function* (input: CreateRole) {
    const { name, description } = yield* decodeCreate(input)
    const row = Role.insert.make({ id: yield* newRoleId, name, description: description ?? "" })
    return yield* inSavepoint(insertRole(row)).pipe(
      Effect.catchTag("NoSuchElementError", Effect.die),
      mapSqlErrors("RoleRepository.create", { roles_name_key: () => new RoleNameTaken({ name }) })
    )
  })

  const ensure = Effect.fn("RoleRepository.ensure")(function* (input: CreateRole) {
    const { name, description } = yield* decodeCreate(input)
    const row = Role.insert.make({ id: yield* newRoleId, name, description: description ?? "" })
    return yield* ensureByName(insertIfAbsent(row), selectByName(name)).pipe(mapSqlErrors("RoleRepository.ensure"))
  })

  const findById = Effect.fn("RoleRepository.findById")(function* (id: RoleId) {
    const roleId = validRoleId(id)
    if (Option.isNone(roleId)) return yield* roleNotFound(id)
    const role = yield* selectById(roleId.value).pipe(mapSqlErrors("RoleRepository.findById"))
    if (Option.isNone(role)) return yield* roleNotFound(roleId.value)
    return role.value
  })

  const findByName = Effect.fn("RoleRepository.findByName")(function* (name: string) {
    const roleName = yield* decodeName(name)
    const role = yield* selectByName(roleName).pipe(mapSqlErrors("RoleRepository.findByName"))
    if (Option.isNone(role)) return yield* new RoleNotFound({ name: roleName })
    return role.value
  })

  const list = Effect.fn("RoleRepository.list")(function* (request?: ListRequest) {
    const { limit, cursor } = yield* decodePageRequest(request ?? {})
    const after = cursor === undefined ? null : (yield* roleCursor.decode(cursor))[0]
    const rows = yield* selectPage({ after, limit }).pipe(mapSqlErrors("RoleRepository.list"))
    return pageFromRows(rows, limit, (role) => [role.name] as const, roleCursor)
  })

  const update = Effect.fn("RoleRepository.update")(function* (id: RoleId, patch: UpdateRole) {
    const changes = yield* decodeUpdate(patch)
    const roleId = validRoleId(id)
    if (Option.isNone(roleId)) return yield* roleNotFound(id)
    if (Object.keys(changes).length === 0) return yield* findById(roleId.value)
    const role = yield* inSavepoint(updateRow({ id: roleId.value, patch: changes })).pipe(
      mapSqlErrors("RoleRepository.update", {
        roles_name_key: () => new RoleNameTaken({ name: changes.name ?? "" })
      })
    )
    if (Option.isNone(role)) return yield* roleNotFound(roleId.value)
    return role.value
  })

  const delete_ = Effect.fn("RoleRepository.delete")(function* (id: RoleId) {
    const roleId = validRoleId(id)
    if (Option.isNone(roleId)) return yield* roleNotFound(id)
    yield* audit
      .audited(
        Effect.flatMap(deleteRow(roleId.value), (deleted) =>
          Option.isNone(deleted) ? Effect.fail(roleNotFound(roleId.value)) : Effect.succeed(deleted.value)
        ),
        (deleted) =>
          Option.some({ action: AuditActions.roleDeleted, targetId: deleted.id, metadata: { name: deleted.name } })
      )
      .pipe(mapSqlErrors("RoleRepository.delete"))
  })

  // Shared by grant and revoke: NotFound checks, then the audit record only when a grant changed.
  const changeGrant = (
    operation: string,
    change: typeof insertGrant,
    action: typeof AuditActions.rolePermissionGranted,
    role: RoleId,
    permission: PermissionId
  ) =>
    Effect.gen(function* () {
      const roleId = validRoleId(role)
      if (Option.isNone(roleId)) return yield* roleNotFound(role)
      const permissionId = validPermissionId(permission)
      if (Option.isNone(permissionId)) return yield* permissionNotFound(permission)
      yield* audit
        .audited(
          Effect.gen(function* () {
            const result = yield* change({ roleId: roleId.value, permissionId: permissionId.value })
            if (result.roleName === null) return yield* roleNotFound(roleId.value)
            if (result.permissionName === null) return yield* permissionNotFound(permissionId.value)
            return { roleName: result.roleName, permissionName: result.permissionName, changed: result.changed }
          }),
          (result) =>
            result.changed
              ? Option.some({
                  action,
                  targetId: roleId.value,
                  metadata: {
                    roleName: result.roleName,
                    permissionId: permissionId.value,
                    permissionName: result.permissionName
                  }
                })
              : Option.none()
        )
        .pipe(Effect.catchTag("NoSuchElementError", Effect.die), mapSqlErrors(operation))
    })

  const grant = Effect.fn("RoleRepository.grant")(function* (roleId: RoleId, permissionId: PermissionId) {
    return yield* changeGrant(
      "RoleRepository.grant",
      insertGrant,
      AuditActions.rolePermissionGranted,
      roleId,
      permissionId
    )
  })

  const revoke = Effect.fn("RoleRepository.revoke")(function* (roleId: RoleId, permissionId: PermissionId) {
    return yield* changeGrant(
      "RoleRepository.revoke",
      deleteGrant,
      AuditActions.rolePermissionRevoked,
      roleId,
      permissionId
    )
  })

  const permissionsOf = Effect.fn("RoleRepository.permissionsOf")(function* (id: RoleId) {
    const roleId = validRoleId(id)
    if (Option.isNone(roleId)) return yield* roleNotFound(id)
    return yield* selectPermissions(roleId.value).pipe(mapSqlErrors("RoleRepository.permissionsOf"))
  })

  return {
    create,
    ensure,
    findById,
    findByName,
    list,
    update,
    delete: delete_,
    grant,
    revoke,
    permissionsOf
  }
})
