import { Effect, Schema } from "effect"
import { SqlClient, SqlSchema } from "effect/sql"
import {
  Permission,
  PermissionId,
  PermissionName,
  PermissionNameTaken,
  PermissionNotFound,
  pageFromRows
} from "../../Domain/index.ts"
import { DatabaseMigrations } from "../Migrations/DatabaseMigrations.ts"
import { permissionDeletedEvent } from "../Repositories/AuditEvents.ts"
import type { CreatePermission, ListPermissions, PermissionRepository } from "../Repositories/PermissionRepository.ts"
import {
  decodeListPermissions,
  decodePermissionName,
  newPermissionRow,
  PermissionModule,
  permissionCursor,
  permissionIdRule
} from "../Repositories/RepositoryInputs.ts"
import { makeAuditTrail } from "./AuditTrail.ts"
import { makeNamedRows } from "./NamedRows.ts"
import { mapSqlErrors } from "./SqlErrors.ts"

const permissionColumns = "id, name, description, created_at"

export const makePermissionRepositoryPg: Effect.Effect<
  PermissionRepository["Service"],
  never,
  SqlClient.SqlClient | DatabaseMigrations
> = Effect.gen(function* () {
  yield* DatabaseMigrations
  const sql = yield* SqlClient.SqlClient
  const audit = yield* makeAuditTrail
  const columns = sql.literal(permissionColumns)
  const permissions = makeNamedRows(sql, {
    table: "permissions",
    Row: Permission,
    Insert: Permission.insert,
    Id: PermissionId,
    Name: PermissionName,
    idRule: permissionIdRule,
    nameNotFound: (name) => new PermissionNotFound({ name }),
    nameTaken: (name) => new PermissionNameTaken({ name })
  })

  // starts_with rather than LIKE: the module may contain '_', a LIKE wildcard.
  const selectPage = SqlSchema.findAll({
    Request: Schema.Struct({
      after: Schema.NullOr(PermissionName),
      module: Schema.NullOr(PermissionModule),
      limit: Schema.Int
    }),
    Result: Permission,
    execute: ({ after, module, limit }) =>
      sql`SELECT ${columns} FROM permissions
        WHERE ${sql.and([
          ...(after === null ? [] : [sql`name > ${after}`]),
          ...(module === null ? [] : [sql`starts_with(name, ${`${module}.`})`])
        ])}
        ORDER BY name LIMIT ${limit + 1}`
  })

  const deleteRow = SqlSchema.findOneOption({
    Request: PermissionId,
    Result: Schema.Struct({ id: PermissionId, name: Schema.String }),
    execute: (id) => sql`DELETE FROM permissions WHERE id = ${id} RETURNING id, name`
  })

  const create = Effect.fn("PermissionRepository.create")(function* (input: CreatePermission) {
    return yield* permissions.create("PermissionRepository.create", yield* newPermissionRow(input))
  })

  const ensure = Effect.fn("PermissionRepository.ensure")(function* (input: CreatePermission) {
    return yield* permissions.ensure("PermissionRepository.ensure", yield* newPermissionRow(input))
  })

  const findById = Effect.fn("PermissionRepository.findById")(function* (id: PermissionId) {
    return yield* permissions.findById("PermissionRepository.findById", id)
  })

  const findByName = Effect.fn("PermissionRepository.findByName")(function* (name: string) {
    return yield* permissions.findByName("PermissionRepository.findByName", yield* decodePermissionName(name))
  })

  const list = Effect.fn("PermissionRepository.list")(function* (request?: ListPermissions) {
    const { limit, cursor, module } = yield* decodeListPermissions(request ?? {})
    const after = cursor === undefined ? null : (yield* permissionCursor.decode(cursor))[0]
    const rows = yield* selectPage({ after, module: module ?? null, limit }).pipe(
      mapSqlErrors("PermissionRepository.list")
    )
    return pageFromRows(rows, limit, (permission) => [permission.name] as const, permissionCursor)
  })

  const delete_ = Effect.fn("PermissionRepository.delete")(function* (id: PermissionId) {
    yield* audit
      .auditedDelete(permissionIdRule, id, deleteRow, permissionDeletedEvent)
      .pipe(mapSqlErrors("PermissionRepository.delete"))
  })

  return { create, ensure, findById, findByName, list, delete: delete_ }
})
