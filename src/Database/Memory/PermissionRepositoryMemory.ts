import { Effect, HashMap, Option, Schema } from "effect"
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
import { AuditActions, type AuditEvent } from "../Postgres/AuditTrail.ts"
import { orEmpty, pageFields, validId } from "../Postgres/Inputs.ts"
import type { CreatePermission, ListPermissions, PermissionRepository } from "../Repositories/PermissionRepository.ts"
import { audited } from "./MemoryAudit.ts"
import { byName, compareText, findValue, withoutPermission } from "./MemoryRelations.ts"
import { MemoryStore, type MemoryTables } from "./MemoryStore.ts"

// The same inputs, rules and cursor keys as PermissionRepositoryPg, from the same domain schemas.
const permissionCursor = makeCursorCodec(Schema.Tuple([PermissionName]))

// The first segment of a permission name. PermissionRepositoryPg keeps this schema private, so it is
// repeated here: the rule of one segment of PermissionName.
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

const permissionByName = (tables: MemoryTables, name: string): Option.Option<Permission> =>
  findValue(tables.permissions, (permission) => permission.name === name)

/** `PermissionRepository` on the `MemoryStore`, with the behaviour of `PermissionRepositoryPg`. */
export const makePermissionRepositoryMemory: Effect.Effect<PermissionRepository["Service"], never, MemoryStore> =
  Effect.gen(function* () {
    const store = yield* MemoryStore
    const auditedChange = audited(store)

    const insertPermission = (tables: MemoryTables, permission: Permission): MemoryTables => ({
      ...tables,
      permissions: HashMap.set(tables.permissions, permission.id, permission)
    })

    const newPermission = (id: PermissionId, name: PermissionName, description: string | undefined) =>
      Effect.map(
        store.transactionTime,
        (createdAt) => new Permission({ id, name, description: description ?? "", createdAt })
      )

    const create = Effect.fn("PermissionRepository.create")(function* (input: CreatePermission) {
      const { name, description } = yield* decodeCreate(input)
      const id = yield* newPermissionId
      return yield* store.update(
        Effect.fnUntraced(function* (tables: MemoryTables) {
          if (Option.isSome(permissionByName(tables, name))) return yield* new PermissionNameTaken({ name })
          const permission = yield* newPermission(id, name, description)
          return [permission, insertPermission(tables, permission)] as const
        })
      )
    })

    const ensure = Effect.fn("PermissionRepository.ensure")(function* (input: CreatePermission) {
      const { name, description } = yield* decodeCreate(input)
      const id = yield* newPermissionId
      return yield* store.update(
        Effect.fnUntraced(function* (tables: MemoryTables) {
          const existing = permissionByName(tables, name)
          if (Option.isSome(existing)) return [existing.value, tables] as const
          const permission = yield* newPermission(id, name, description)
          return [permission, insertPermission(tables, permission)] as const
        })
      )
    })

    const findById = Effect.fn("PermissionRepository.findById")(function* (id: PermissionId) {
      const permissionId = validPermissionId(id)
      if (Option.isNone(permissionId)) return yield* permissionNotFound(id)
      const permission = HashMap.get((yield* store.read).permissions, permissionId.value)
      if (Option.isNone(permission)) return yield* permissionNotFound(permissionId.value)
      return permission.value
    })

    const findByName = Effect.fn("PermissionRepository.findByName")(function* (name: string) {
      const permissionName = yield* decodeName(name)
      const permission = permissionByName(yield* store.read, permissionName)
      if (Option.isNone(permission)) return yield* new PermissionNotFound({ name: permissionName })
      return permission.value
    })

    const list = Effect.fn("PermissionRepository.list")(function* (request?: ListPermissions) {
      const { limit, cursor, module } = yield* decodeListRequest(orEmpty(request))
      const after = cursor === undefined ? undefined : (yield* permissionCursor.decode(cursor))[0]
      const rows = [...HashMap.values((yield* store.read).permissions)]
        .filter(
          (permission) =>
            (after === undefined || compareText(permission.name, after) > 0) &&
            (module === undefined || permission.name.startsWith(`${module}.`))
        )
        .sort(byName)
        .slice(0, limit + 1)
      return pageFromRows(rows, limit, (permission) => [permission.name] as const, permissionCursor)
    })

    const delete_ = Effect.fn("PermissionRepository.delete")(function* (id: PermissionId) {
      const permissionId = validPermissionId(id)
      if (Option.isNone(permissionId)) return yield* permissionNotFound(id)
      yield* auditedChange(
        Effect.fnUntraced(function* (tables: MemoryTables) {
          const permission = HashMap.get(tables.permissions, permissionId.value)
          if (Option.isNone(permission)) return yield* permissionNotFound(permissionId.value)
          return [permission.value, withoutPermission(tables, permission.value.id)] as const
        }),
        (deleted): Option.Option<AuditEvent> =>
          Option.some({
            action: AuditActions.permissionDeleted,
            targetId: deleted.id,
            metadata: { name: deleted.name }
          })
      )
    })

    return { create, ensure, findById, findByName, list, delete: delete_ }
  })
