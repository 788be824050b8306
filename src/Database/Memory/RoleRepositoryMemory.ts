import { Effect, HashMap, Option, Schema } from "effect"
import {
  decodeInput,
  makeCursorCodec,
  newRoleId,
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
import { AuditActions, type AuditEvent } from "../Postgres/AuditTrail.ts"
import { decodePageRequest, orEmpty, validId } from "../Postgres/Inputs.ts"
import type { CreateRole, RoleRepository, UpdateRole } from "../Repositories/RoleRepository.ts"
import type { ListRequest } from "../Repositories/UserRepository.ts"
import { audited } from "./MemoryAudit.ts"
import { byName, compareText, findValue, permissionsOfRole, withoutRole } from "./MemoryRelations.ts"
import { linkKey, MemoryStore, type MemoryTables } from "./MemoryStore.ts"

// The same inputs, rules and cursor keys as RoleRepositoryPg, from the same domain schemas.
const roleCursor = makeCursorCodec(Schema.Tuple([RoleName]))

const decodeCreate = decodeInput(Schema.Struct({ name: RoleName, description: Schema.optionalKey(RoleDescription) }))
const decodeUpdate = decodeInput(
  Schema.Struct({ name: Schema.optionalKey(RoleName), description: Schema.optionalKey(RoleDescription) })
)
const decodeName = decodeInput(RoleName, "name")

const validRoleId = validId(RoleId)
const validPermissionId = validId(PermissionId)

// A malformed id names no role; the error still reports what the caller asked for.
const roleNotFound = (id: string) => new RoleNotFound({ id: id as RoleId }, { disableChecks: true })
const permissionNotFound = (id: string) => new PermissionNotFound({ id: id as PermissionId }, { disableChecks: true })

const roleByName = (tables: MemoryTables, name: string): Option.Option<Role> =>
  findValue(tables.roles, (role) => role.name === name)

/** `RoleRepository` on the `MemoryStore`, with the behaviour of `RoleRepositoryPg`. */
export const makeRoleRepositoryMemory: Effect.Effect<RoleRepository["Service"], never, MemoryStore> = Effect.gen(
  function* () {
    const store = yield* MemoryStore
    const auditedChange = audited(store)

    const existingRole = (tables: MemoryTables, id: RoleId): Effect.Effect<Role, RoleNotFound> =>
      Option.match(HashMap.get(tables.roles, id), {
        onNone: () => Effect.fail(roleNotFound(id)),
        onSome: Effect.succeed
      })

    const insertRole = (tables: MemoryTables, role: Role): MemoryTables => ({
      ...tables,
      roles: HashMap.set(tables.roles, role.id, role)
    })

    const newRole = (id: RoleId, name: RoleName, description: string | undefined) =>
      Effect.map(
        store.transactionTime,
        (createdAt) => new Role({ id, name, description: description ?? "", createdAt })
      )

    const create = Effect.fn("RoleRepository.create")(function* (input: CreateRole) {
      const { name, description } = yield* decodeCreate(input)
      const id = yield* newRoleId
      return yield* store.update(
        Effect.fnUntraced(function* (tables: MemoryTables) {
          if (Option.isSome(roleByName(tables, name))) return yield* new RoleNameTaken({ name })
          const role = yield* newRole(id, name, description)
          return [role, insertRole(tables, role)] as const
        })
      )
    })

    const ensure = Effect.fn("RoleRepository.ensure")(function* (input: CreateRole) {
      const { name, description } = yield* decodeCreate(input)
      const id = yield* newRoleId
      return yield* store.update(
        Effect.fnUntraced(function* (tables: MemoryTables) {
          const existing = roleByName(tables, name)
          if (Option.isSome(existing)) return [existing.value, tables] as const
          const role = yield* newRole(id, name, description)
          return [role, insertRole(tables, role)] as const
        })
      )
    })

    const findById = Effect.fn("RoleRepository.findById")(function* (id: RoleId) {
      const roleId = validRoleId(id)
      if (Option.isNone(roleId)) return yield* roleNotFound(id)
      return yield* existingRole(yield* store.read, roleId.value)
    })

    const findByName = Effect.fn("RoleRepository.findByName")(function* (name: string) {
      const roleName = yield* decodeName(name)
      const role = roleByName(yield* store.read, roleName)
      if (Option.isNone(role)) return yield* new RoleNotFound({ name: roleName })
      return role.value
    })

    const list = Effect.fn("RoleRepository.list")(function* (request?: ListRequest) {
      const { limit, cursor } = yield* decodePageRequest(orEmpty(request))
      const after = cursor === undefined ? undefined : (yield* roleCursor.decode(cursor))[0]
      const rows = [...HashMap.values((yield* store.read).roles)]
        .filter((role) => after === undefined || compareText(role.name, after) > 0)
        .sort(byName)
        .slice(0, limit + 1)
      return pageFromRows(rows, limit, (role) => [role.name] as const, roleCursor)
    })

    const update = Effect.fn("RoleRepository.update")(function* (id: RoleId, patch: UpdateRole) {
      const changes = yield* decodeUpdate(patch)
      const roleId = validRoleId(id)
      if (Option.isNone(roleId)) return yield* roleNotFound(id)
      if (Object.keys(changes).length === 0) return yield* findById(roleId.value)
      return yield* store.update(
        Effect.fnUntraced(function* (tables: MemoryTables) {
          const current = yield* existingRole(tables, roleId.value)
          const name = changes.name
          if (name !== undefined) {
            const holder = roleByName(tables, name)
            if (Option.isSome(holder) && holder.value.id !== current.id) return yield* new RoleNameTaken({ name })
          }
          const role = new Role({ ...current, ...changes })
          return [role, insertRole(tables, role)] as const
        })
      )
    })

    const delete_ = Effect.fn("RoleRepository.delete")(function* (id: RoleId) {
      const roleId = validRoleId(id)
      if (Option.isNone(roleId)) return yield* roleNotFound(id)
      yield* auditedChange(
        Effect.fnUntraced(function* (tables: MemoryTables) {
          const role = yield* existingRole(tables, roleId.value)
          return [role, withoutRole(tables, role.id)] as const
        }),
        (deleted): Option.Option<AuditEvent> =>
          Option.some({ action: AuditActions.roleDeleted, targetId: deleted.id, metadata: { name: deleted.name } })
      )
    })

    // Shared by grant and revoke: NotFound checks, then the audit record only when a grant changed.
    const changeGrant = (
      action: typeof AuditActions.rolePermissionGranted,
      role: RoleId,
      permission: PermissionId,
      apply: (
        tables: MemoryTables,
        roleId: RoleId,
        permissionId: PermissionId
      ) => Effect.Effect<Option.Option<MemoryTables>>
    ) =>
      Effect.gen(function* () {
        const roleId = validRoleId(role)
        if (Option.isNone(roleId)) return yield* roleNotFound(role)
        const permissionId = validPermissionId(permission)
        if (Option.isNone(permissionId)) return yield* permissionNotFound(permission)
        yield* auditedChange(
          Effect.fnUntraced(function* (tables: MemoryTables) {
            const found = yield* existingRole(tables, roleId.value)
            const granted = HashMap.get(tables.permissions, permissionId.value)
            if (Option.isNone(granted)) return yield* permissionNotFound(permissionId.value)
            const changed = yield* apply(tables, found.id, granted.value.id)
            const result = { roleName: found.name, permissionName: granted.value.name, changed: Option.isSome(changed) }
            return [result, Option.getOrElse(changed, () => tables)] as const
          }),
          (result): Option.Option<AuditEvent> =>
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
      })

    const grant = Effect.fn("RoleRepository.grant")(function* (roleId: RoleId, permissionId: PermissionId) {
      return yield* changeGrant(AuditActions.rolePermissionGranted, roleId, permissionId, (tables, role, permission) =>
        Effect.gen(function* () {
          const key = linkKey(role, permission)
          if (HashMap.has(tables.rolePermissions, key)) return Option.none()
          const row = { roleId: role, permissionId: permission, createdAt: yield* store.transactionTime }
          return Option.some({ ...tables, rolePermissions: HashMap.set(tables.rolePermissions, key, row) })
        })
      )
    })

    const revoke = Effect.fn("RoleRepository.revoke")(function* (roleId: RoleId, permissionId: PermissionId) {
      return yield* changeGrant(
        AuditActions.rolePermissionRevoked,
        roleId,
        permissionId,
        (tables, role, permission) => {
          const key = linkKey(role, permission)
          return Effect.succeed(
            HashMap.has(tables.rolePermissions, key)
              ? Option.some({ ...tables, rolePermissions: HashMap.remove(tables.rolePermissions, key) })
              : Option.none()
          )
        }
      )
    })

    const permissionsOf = Effect.fn("RoleRepository.permissionsOf")(function* (id: RoleId) {
      const roleId = validRoleId(id)
      if (Option.isNone(roleId)) return yield* roleNotFound(id)
      const tables = yield* store.read
      yield* existingRole(tables, roleId.value)
      return permissionsOfRole(tables, roleId.value)
    })

    return { create, ensure, findById, findByName, list, update, delete: delete_, grant, revoke, permissionsOf }
  }
)
