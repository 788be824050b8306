import { Effect, HashMap } from "effect"
import {
  Permission,
  type PermissionId,
  PermissionNameTaken,
  PermissionNotFound,
  pageFromRows
} from "../../Domain/index.ts"
import { permissionDeletedEvent } from "../Repositories/AuditEvents.ts"
import type { CreatePermission, ListPermissions, PermissionRepository } from "../Repositories/PermissionRepository.ts"
import {
  decodeListPermissions,
  decodePermissionName,
  newPermissionRow,
  orEmpty,
  permissionCursor,
  permissionIdRule
} from "../Repositories/RepositoryInputs.ts"
import { makeMemoryAuditTrail } from "./MemoryAudit.ts"
import { makeNamedRowsMemory } from "./MemoryNamedRows.ts"
import { byName, compareText, withoutPermission } from "./MemoryRelations.ts"
import { MemoryStore } from "./MemoryStore.ts"

/** `PermissionRepository` on the `MemoryStore`, with the behaviour of `PermissionRepositoryPg`. */
export const makePermissionRepositoryMemory: Effect.Effect<PermissionRepository["Service"], never, MemoryStore> =
  Effect.gen(function* () {
    const store = yield* MemoryStore
    const audit = makeMemoryAuditTrail(store)
    const permissions = makeNamedRowsMemory(store, {
      rows: (tables) => tables.permissions,
      withRows: (tables, permissions) => ({ ...tables, permissions }),
      make: (fields) => new Permission(fields),
      idRule: permissionIdRule,
      nameNotFound: (name) => new PermissionNotFound({ name }),
      nameTaken: (name) => new PermissionNameTaken({ name })
    })

    const create = Effect.fn("PermissionRepository.create")(function* (input: CreatePermission) {
      return yield* permissions.create(yield* newPermissionRow(input))
    })

    const ensure = Effect.fn("PermissionRepository.ensure")(function* (input: CreatePermission) {
      return yield* permissions.ensure(yield* newPermissionRow(input))
    })

    const findById = Effect.fn("PermissionRepository.findById")(function* (id: PermissionId) {
      return yield* permissions.findById(id)
    })

    const findByName = Effect.fn("PermissionRepository.findByName")(function* (name: string) {
      return yield* permissions.findByName(yield* decodePermissionName(name))
    })

    const list = Effect.fn("PermissionRepository.list")(function* (request?: ListPermissions) {
      const { limit, cursor, module } = yield* decodeListPermissions(orEmpty(request))
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
      yield* audit.auditedDelete(
        permissionIdRule,
        id,
        (tables, id) => HashMap.get(tables.permissions, id),
        withoutPermission,
        permissionDeletedEvent
      )
    })

    return { create, ensure, findById, findByName, list, delete: delete_ }
  })
