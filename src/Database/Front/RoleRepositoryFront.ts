import { Array as Arr, Effect, Option, Stream } from "effect"
import {
  type PermissionId,
  PermissionNotFound,
  type RoleId,
  RoleNameTaken,
  RoleNotFound,
  RoleWithPermissions
} from "../../Domain/index.ts"
import {
  type CreateRole,
  type EnsureRoleWithPermissions,
  RoleRepository,
  type UpdateRole
} from "../Repositories/RoleRepository.ts"
import type { ListRequest } from "../Repositories/UserRepository.ts"
import {
  ensuredRoleEvents,
  roleChangedEvents,
  roleCreatedEvent,
  roleDeletedEvent,
  rolePermissionEvents
} from "./AuditEvents.ts"
import { makeAuditTrail } from "./AuditTrail.ts"
import { makeNamedRowMethods } from "./NamedRowFront.ts"
import { methodsOf } from "./Operation.ts"
import { listPage, streamOf } from "./Paging.ts"
import {
  checkId,
  decodeEnsureRoleWithPermissions,
  decodePageRequest,
  decodePermissionNameArgument,
  decodeRoleName,
  decodeRoleNameArgument,
  decodeRolePatch,
  lookupById,
  newRoleRow,
  orNotFound,
  permissionIdRule,
  permissionRow,
  requestOrEmpty,
  roleCursor,
  roleIdRule,
  roleRow
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
      createdEvent: roleCreatedEvent,
      deletedEvent: roleDeletedEvent
    })
    const grants = audit.linkChanges({
      links: roles.permissions,
      holder: { id: roleIdRule, keyNotFound: (name) => new RoleNotFound({ name }) },
      held: { id: permissionIdRule, keyNotFound: (name) => new PermissionNotFound({ name }) },
      events: rolePermissionEvents
    })

    const list = method("list")(function* (request?: ListRequest) {
      return yield* listPage(
        yield* decodePageRequest(requestOrEmpty(request)),
        roleCursor,
        ({ after, limit }) => roles.list({ after: after?.[0], limit }),
        (role) => [role.name] as const
      )
    })

    // Decoded once, before the first page: pages are then asked for with the checked copy only.
    const stream = (request?: ListRequest) =>
      Stream.unwrap(Effect.map(decodePageRequest(requestOrEmpty(request)), streamOf(list)))

    const update = method("update")(function* (id: RoleId, patch: UpdateRole) {
      const changes = yield* decodeRolePatch(patch)
      const roleId = yield* checkId(roleIdRule, "id", id)
      // An empty patch changes nothing: it returns the current row.
      if (Object.keys(changes).length === 0) return yield* named.findById(roleId)
      const { after } = yield* audit
        .audited(orNotFound(roleIdRule, roleId, roles.update(roleId, changes)), roleChangedEvents)
        .pipe(Effect.catchTag("KeyTaken", () => Effect.fail(new RoleNameTaken({ name: changes.name ?? "" }))))
      return after
    })

    const ensureWithPermissions = method("ensureWithPermissions")(function* (input: EnsureRoleWithPermissions) {
      const { permissions: names, ...fields } = yield* decodeEnsureRoleWithPermissions(input)
      const newRole = yield* roleRow(fields)
      const newPermissions = yield* Effect.forEach(Arr.dedupe(names), (name) => permissionRow({ name }))
      // One statement per step, whatever the number of permissions: the role, the permissions, the grants,
      // the records, and the role's permissions as they now are.
      return yield* store.transaction(
        Effect.gen(function* () {
          const role = (yield* roles.insertOrGetAll([newRole]))[0]!
          const { row } = role
          const permissions = Arr.isReadonlyArrayNonEmpty(newPermissions)
            ? yield* store.permissions.insertOrGetAll(newPermissions)
            : []
          const permissionIds = permissions.map((permission) => permission.row.id)
          const granted = Arr.isReadonlyArrayNonEmpty(permissionIds)
            ? yield* roles.permissions.addAll(row.id, permissionIds)
            : { holder: { id: row.id, label: row.name }, held: [] }
          // The rows were ensured in this transaction, but one found existing may have been deleted since.
          if (granted.holder === null || granted.held.length < permissionIds.length)
            return yield* Effect.die(
              new Error(`ensureWithPermissions: a row of role ${row.name} was deleted concurrently`)
            )
          yield* audit.record(ensuredRoleEvents(role, permissions, granted.held))
          const all = yield* roles.permissionsOf(row.id)
          return new RoleWithPermissions({ role: row, permissions: Option.getOrElse(all, () => []) })
        })
      )
    })

    const grant = method("grant")(function* (roleId: RoleId, permissionId: PermissionId) {
      const role = yield* checkId(roleIdRule, "roleId", roleId)
      const permission = yield* checkId(permissionIdRule, "permissionId", permissionId)
      yield* grants.add({ id: role }, { id: permission })
    })

    const grantByName = method("grantByName")(function* (roleName: string, permissionName: string) {
      const role = yield* decodeRoleNameArgument(roleName)
      const permission = yield* decodePermissionNameArgument(permissionName)
      yield* grants.add({ key: role }, { key: permission })
    })

    const revoke = method("revoke")(function* (roleId: RoleId, permissionId: PermissionId) {
      const role = yield* checkId(roleIdRule, "roleId", roleId)
      const permission = yield* checkId(permissionIdRule, "permissionId", permissionId)
      yield* grants.remove({ id: role }, { id: permission })
    })

    const permissionsOf = method("permissionsOf")(function* (id: RoleId) {
      return yield* lookupById(roleIdRule, "roleId", id, roles.permissionsOf)
    })

    return RoleRepository.of({
      ...named,
      ensureWithPermissions,
      list,
      stream,
      update,
      grant,
      grantByName,
      revoke,
      permissionsOf
    })
  }
)
