import { Effect, Option, Schema } from "effect"
import { SqlClient, SqlSchema } from "effect/sql"
import {
  decodeInput,
  makeCursorCodec,
  newPermissionId,
  Permission,
  PermissionDescription,
  PermissionId,
  PermissionName,
  PermissionNameTaken,
  PermissionNotFound,
  pageFromRows
} from "../../Domain/index.ts"
import { DatabaseMigrations } from "../Migrations/DatabaseMigrations.ts"
import type { CreatePermission, ListPermissions, PermissionRepository } from "../Repositories/PermissionRepository.ts"
import { AuditActions, makeAuditTrail } from "./AuditTrail.ts"
import { ensureByName } from "./EnsureByName.ts"
import { pageFields, validId } from "./Inputs.ts"
import { recoverable } from "./Savepoint.ts"
import { mapSqlErrors } from "./SqlErrors.ts"

const permissionColumns = "id, name, description, created_at"

const permissionCursor = makeCursorCodec(Schema.Tuple([PermissionName]))

// The first segment of a permission name, with the same rule as in PermissionName.
const Module = Schema.String.pipe(
  Schema.check(
    Schema.isPattern(/^[a-z][a-z0-9_]*$/, {
      message: "must be a lowercase letter followed by lowercase letters, digits or '_'"
    })
  )
)

const decodeCreate = decodeInput(
  Schema.Struct({ name: PermissionName, description: Schema.optionalKey(PermissionDescription) })
)
const decodeName = decodeInput(PermissionName, "name")
const decodeListRequest = decodeInput(Schema.Struct({ ...pageFields, module: Schema.optionalKey(Module) }), "request")

const validPermissionId = validId(PermissionId)

// A malformed id names no permission; the error still reports what the caller asked for.
const permissionNotFound = (id: string) => new PermissionNotFound({ id: id as PermissionId }, { disableChecks: true })

export const makePermissionRepositoryPg: Effect.Effect<
  PermissionRepository["Service"],
  never,
  SqlClient.SqlClient | DatabaseMigrations
> = Effect.gen(function* () {
  yield* DatabaseMigrations
  const sql = yield* SqlClient.SqlClient
  const audit = yield* makeAuditTrail
  const columns = sql.literal(permissionColumns)
  const inSavepoint = recoverable(sql)

  const insertPermission = SqlSchema.findOne({
    Request: Permission.insert,
    Result: Permission,
    execute: (row) => sql`INSERT INTO permissions ${sql.insert(row)} RETURNING ${columns}`
  })

  const insertIfAbsent = SqlSchema.findOneOption({
    Request: Permission.insert,
    Result: Permission,
    execute: (row) => sql`INSERT INTO permissions ${sql.insert(row)} ON CONFLICT (name) DO NOTHING RETURNING ${columns}`
  })

  const selectById = SqlSchema.findOneOption({
    Request: PermissionId,
    Result: Permission,
    execute: (id) => sql`SELECT ${columns} FROM permissions WHERE id = ${id}`
  })

  const selectByName = SqlSchema.findOneOption({
    Request: PermissionName,
    Result: Permission,
    execute: (name) => sql`SELECT ${columns} FROM permissions WHERE name = ${name}`
  })

  // starts_with rather than LIKE: the module may contain '_', a LIKE wildcard.
  const selectPage = SqlSchema.findAll({
    Request: Schema.Struct({ after: Schema.NullOr(PermissionName), module: Schema.NullOr(Module), limit: Schema.Int }),
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
    const { name, description } = yield* decodeCreate(input)
    const row = Permission.insert.make({ id: yield* newPermissionId, name, description: description ?? "" })
    return yield* inSavepoint(insertPermission(row)).pipe(
      Effect.catchTag("NoSuchElementError", Effect.die),
      mapSqlErrors("PermissionRepository.create", { permissions_name_key: () => new PermissionNameTaken({ name }) })
    )
  })

  const ensure = Effect.fn("PermissionRepository.ensure")(function* (input: CreatePermission) {
    const { name, description } = yield* decodeCreate(input)
    const row = Permission.insert.make({ id: yield* newPermissionId, name, description: description ?? "" })
    return yield* ensureByName(insertIfAbsent(row), selectByName(name)).pipe(
      mapSqlErrors("PermissionRepository.ensure")
    )
  })

  const findById = Effect.fn("PermissionRepository.findById")(function* (id: PermissionId) {
    const permissionId = validPermissionId(id)
    if (Option.isNone(permissionId)) return yield* permissionNotFound(id)
    const permission = yield* selectById(permissionId.value).pipe(mapSqlErrors("PermissionRepository.findById"))
    if (Option.isNone(permission)) return yield* permissionNotFound(permissionId.value)
    return permission.value
  })

  const findByName = Effect.fn("PermissionRepository.findByName")(function* (name: string) {
    const permissionName = yield* decodeName(name)
    const permission = yield* selectByName(permissionName).pipe(mapSqlErrors("PermissionRepository.findByName"))
    if (Option.isNone(permission)) return yield* new PermissionNotFound({ name: permissionName })
    return permission.value
  })

  const list = Effect.fn("PermissionRepository.list")(function* (request?: ListPermissions) {
    const { limit, cursor, module } = yield* decodeListRequest(request ?? {})
    const after = cursor === undefined ? null : (yield* permissionCursor.decode(cursor))[0]
    const rows = yield* selectPage({ after, module: module ?? null, limit }).pipe(
      mapSqlErrors("PermissionRepository.list")
    )
    return pageFromRows(rows, limit, (permission) => [permission.name] as const, permissionCursor)
  })

  const delete_ = Effect.fn("PermissionRepository.delete")(function* (id: PermissionId) {
    const permissionId = validPermissionId(id)
    if (Option.isNone(permissionId)) return yield* permissionNotFound(id)
    yield* audit
      .audited(
        Effect.flatMap(deleteRow(permissionId.value), (deleted) =>
          Option.isNone(deleted) ? Effect.fail(permissionNotFound(permissionId.value)) : Effect.succeed(deleted.value)
        ),
        (deleted) =>
          Option.some({
            action: AuditActions.permissionDeleted,
            targetId: deleted.id,
            metadata: { name: deleted.name }
          })
      )
      .pipe(mapSqlErrors("PermissionRepository.delete"))
  })

  return { create, ensure, findById, findByName, list, delete: delete_ }
})
