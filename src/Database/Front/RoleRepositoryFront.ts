import { Effect } from "effect"
import { type PermissionId, type RoleId, RoleNameTaken, RoleNotFound } from "../../Domain/index.ts"
import { type CreateRole, RoleRepository, type UpdateRole } from "../Repositories/RoleRepository.ts"
import type { ListRequest } from "../Repositories/UserRepository.ts"
import { AuditActions, roleDeletedEvent, rolePermissionEvent } from "./AuditEvents.ts"
import { makeAuditTrail } from "./AuditTrail.ts"
import { makeNamedRowMethods } from "./NamedRowFront.ts"
import { methodsOf } from "./Operation.ts"
import { listPage } from "./Paging.ts"
import {
  checkId,
  decodePageRequest,
  decodeRoleName,
  decodeRolePatch,
  lookupById,
  newRoleRow,
  orNotFound,
  permissionIdRule,
  roleCursor,
  roleIdRule
} from "./RepositoryInputs.ts"
import { RepositoryStore } from "./RepositoryStore.ts"

/** `RoleRepository` over the `RepositoryStore` of any backend. */
export const makeRoleRepository: Effect.Effect<RoleRepository["Service"], never, RepositoryStore> = Effect.gen(
  function* () {
    const store = yield* RepositoryStore
    const roles = store.roles
    const audit = makeAuditTrail(store)
    const method = methodsOf("RoleRepository")
    const named = makeNamedRowMethods({
      method,
      audit,
      rows: roles,
      idRule: roleIdRule,
      newRow: (input: CreateRole) => newRoleRow(input),
      decodeName: decodeRoleName,
      nameNotFound: (name) => new RoleNotFound({ name }),
      nameTaken: (name) => new RoleNameTaken({ name }),
      deletedEvent: roleDeletedEvent
    })
    const grants = audit.linkChanges({
      links: roles.permissions,
      holder: roleIdRule,
      held: permissionIdRule,
      added: AuditActions.rolePermissionGranted,
      removed: AuditActions.rolePermissionRevoked,
      eventOf: rolePermissionEvent
    })

    const list = method("list")(function* (request?: ListRequest) {
      return yield* listPage(
        yield* decodePageRequest(request ?? {}),
        roleCursor,
        ({ after, limit }) => roles.list({ after: after?.[0], limit }),
        (role) => [role.name] as const
      )
    })

    const update = method("update")(function* (id: RoleId, patch: UpdateRole) {
      const changes = yield* decodeRolePatch(patch)
      const roleId = yield* checkId(roleIdRule, id)
      // An empty patch changes nothing: it returns the current row.
      if (Object.keys(changes).length === 0) return yield* named.findById(roleId)
      return yield* orNotFound(roleIdRule, roleId, roles.update(roleId, changes)).pipe(
        Effect.catchTag("KeyTaken", () => Effect.fail(new RoleNameTaken({ name: changes.name ?? "" })))
      )
    })

    const grant = method("grant")(function* (roleId: RoleId, permissionId: PermissionId) {
      yield* grants.add(roleId, permissionId)
    })

    const revoke = method("revoke")(function* (roleId: RoleId, permissionId: PermissionId) {
      yield* grants.remove(roleId, permissionId)
    })

    const permissionsOf = method("permissionsOf")(function* (id: RoleId) {
      return yield* lookupById(roleIdRule, id, roles.permissionsOf)
    })

    return RoleRepository.of({ ...named, list, update, grant, revoke, permissionsOf })
  }
)
