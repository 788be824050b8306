import { Effect, HashMap, Option } from "effect"
import { type PermissionId, pageFromRows, Role, type RoleId, RoleNameTaken, RoleNotFound } from "../../Domain/index.ts"
import { AuditActions, roleDeletedEvent } from "../Repositories/AuditEvents.ts"
import {
  decodePageRequest,
  decodeRoleName,
  decodeRolePatch,
  newRoleRow,
  orEmpty,
  roleCursor,
  roleIdRule,
  roleNotFound,
  validRoleId
} from "../Repositories/RepositoryInputs.ts"
import type { CreateRole, RoleRepository, UpdateRole } from "../Repositories/RoleRepository.ts"
import type { ListRequest } from "../Repositories/UserRepository.ts"
import { makeMemoryAuditTrail } from "./MemoryAudit.ts"
import { makeLinkChanges, RolePermissions } from "./MemoryLinks.ts"
import { makeNamedRowsMemory } from "./MemoryNamedRows.ts"
import { byName, compareText, permissionsOfRole, withoutRole } from "./MemoryRelations.ts"
import { MemoryStore, type MemoryTables } from "./MemoryStore.ts"

/** `RoleRepository` on the `MemoryStore`, with the behaviour of `RoleRepositoryPg`. */
export const makeRoleRepositoryMemory: Effect.Effect<RoleRepository["Service"], never, MemoryStore> = Effect.gen(
  function* () {
    const store = yield* MemoryStore
    const audit = makeMemoryAuditTrail(store)
    const roles = makeNamedRowsMemory(store, {
      rows: (tables) => tables.roles,
      withRows: (tables, roles) => ({ ...tables, roles }),
      make: (fields) => new Role(fields),
      idRule: roleIdRule,
      nameNotFound: (name) => new RoleNotFound({ name }),
      nameTaken: (name) => new RoleNameTaken({ name })
    })
    const grants = makeLinkChanges(store, RolePermissions)

    const create = Effect.fn("RoleRepository.create")(function* (input: CreateRole) {
      return yield* roles.create(yield* newRoleRow(input))
    })

    const ensure = Effect.fn("RoleRepository.ensure")(function* (input: CreateRole) {
      return yield* roles.ensure(yield* newRoleRow(input))
    })

    const findById = Effect.fn("RoleRepository.findById")(function* (id: RoleId) {
      return yield* roles.findById(id)
    })

    const findByName = Effect.fn("RoleRepository.findByName")(function* (name: string) {
      return yield* roles.findByName(yield* decodeRoleName(name))
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
      const changes = yield* decodeRolePatch(patch)
      const roleId = validRoleId(id)
      if (Option.isNone(roleId)) return yield* roleNotFound(id)
      if (Object.keys(changes).length === 0) return yield* findById(roleId.value)
      return yield* store.update(
        Effect.fnUntraced(function* (tables: MemoryTables) {
          const current = yield* roles.existing(tables, roleId.value)
          const name = changes.name
          if (name !== undefined) {
            const holder = roles.byName(tables, name)
            if (Option.isSome(holder) && holder.value.id !== current.id) return yield* new RoleNameTaken({ name })
          }
          const role = new Role({ ...current, ...changes })
          return [role, roles.put(tables, role)] as const
        })
      )
    })

    const delete_ = Effect.fn("RoleRepository.delete")(function* (id: RoleId) {
      yield* audit.auditedDelete(
        roleIdRule,
        id,
        (tables, id) => HashMap.get(tables.roles, id),
        withoutRole,
        roleDeletedEvent
      )
    })

    const grant = Effect.fn("RoleRepository.grant")(function* (roleId: RoleId, permissionId: PermissionId) {
      return yield* grants.add(AuditActions.rolePermissionGranted, roleId, permissionId)
    })

    const revoke = Effect.fn("RoleRepository.revoke")(function* (roleId: RoleId, permissionId: PermissionId) {
      return yield* grants.remove(AuditActions.rolePermissionRevoked, roleId, permissionId)
    })

    const permissionsOf = Effect.fn("RoleRepository.permissionsOf")(function* (id: RoleId) {
      const roleId = validRoleId(id)
      if (Option.isNone(roleId)) return yield* roleNotFound(id)
      const tables = yield* store.read
      yield* roles.existing(tables, roleId.value)
      return permissionsOfRole(tables, roleId.value)
    })

    return { create, ensure, findById, findByName, list, update, delete: delete_, grant, revoke, permissionsOf }
  }
)
