import { Effect, Option, Schema } from "effect"
import { SqlClient, SqlSchema } from "effect/sql"
import {
  Permission,
  PermissionId,
  pageFromRows,
  Role,
  RoleId,
  RoleName,
  RoleNameTaken,
  RoleNotFound
} from "../../Domain/index.ts"
import { DatabaseMigrations } from "../Migrations/DatabaseMigrations.ts"
import { AuditActions, roleDeletedEvent, rolePermissionEvent } from "../Repositories/AuditEvents.ts"
import {
  decodePageRequest,
  decodeRoleName,
  decodeRolePatch,
  newRoleRow,
  permissionIdRule,
  RolePatch,
  roleCursor,
  roleIdRule,
  roleNotFound,
  validRoleId
} from "../Repositories/RepositoryInputs.ts"
import type { CreateRole, RoleRepository, UpdateRole } from "../Repositories/RoleRepository.ts"
import type { ListRequest } from "../Repositories/UserRepository.ts"
import { makeAuditTrail } from "./AuditTrail.ts"
import { LinkChange, makeLinkChanges } from "./LinkChanges.ts"
import { makeNamedRows } from "./NamedRows.ts"
import { rowsOfOwner } from "./OwnerRows.ts"
import { recoverable } from "./Savepoint.ts"
import { mapSqlErrors } from "./SqlErrors.ts"

const roleColumns = "id, name, description, created_at"
const permissionColumns = "p.id, p.name, p.description, p.created_at"

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
  const roles = makeNamedRows(sql, {
    table: "roles",
    Row: Role,
    Insert: Role.insert,
    Id: RoleId,
    Name: RoleName,
    idRule: roleIdRule,
    nameNotFound: (name) => new RoleNotFound({ name }),
    nameTaken: (name) => new RoleNameTaken({ name })
  })
  const changeGrant = makeLinkChanges(audit, roleIdRule, permissionIdRule, rolePermissionEvent)

  const selectPage = SqlSchema.findAll({
    Request: Schema.Struct({ after: Schema.NullOr(RoleName), limit: Schema.Int }),
    Result: Role,
    execute: ({ after, limit }) =>
      sql`SELECT ${columns} FROM roles
        WHERE ${after === null ? sql.literal("TRUE") : sql`name > ${after}`}
        ORDER BY name LIMIT ${limit + 1}`
  })

  const updateRow = SqlSchema.findOneOption({
    Request: Schema.Struct({ id: RoleId, patch: RolePatch }),
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
    Request: Schema.Tuple([RoleId, PermissionId]),
    Result: LinkChange,
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

  const deleteGrant = SqlSchema.findOne({
    Request: Schema.Tuple([RoleId, PermissionId]),
    Result: LinkChange,
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
    return yield* roles.create("RoleRepository.create", yield* newRoleRow(input))
  })

  const ensure = Effect.fn("RoleRepository.ensure")(function* (input: CreateRole) {
    return yield* roles.ensure("RoleRepository.ensure", yield* newRoleRow(input))
  })

  const findById = Effect.fn("RoleRepository.findById")(function* (id: RoleId) {
    return yield* roles.findById("RoleRepository.findById", id)
  })

  const findByName = Effect.fn("RoleRepository.findByName")(function* (name: string) {
    return yield* roles.findByName("RoleRepository.findByName", yield* decodeRoleName(name))
  })

  const list = Effect.fn("RoleRepository.list")(function* (request?: ListRequest) {
    const { limit, cursor } = yield* decodePageRequest(request ?? {})
    const after = cursor === undefined ? null : (yield* roleCursor.decode(cursor))[0]
    const rows = yield* selectPage({ after, limit }).pipe(mapSqlErrors("RoleRepository.list"))
    return pageFromRows(rows, limit, (role) => [role.name] as const, roleCursor)
  })

  const update = Effect.fn("RoleRepository.update")(function* (id: RoleId, patch: UpdateRole) {
    const changes = yield* decodeRolePatch(patch)
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
    yield* audit.auditedDelete(roleIdRule, id, deleteRow, roleDeletedEvent).pipe(mapSqlErrors("RoleRepository.delete"))
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
