import { Context, type Effect } from "effect"
import type {
  DatabaseUnavailable,
  InvalidInput,
  Page,
  Permission,
  PermissionId,
  PermissionNotFound,
  Role,
  RoleId,
  RoleNameTaken,
  RoleNotFound
} from "../../Domain/index.ts"
import type { ListRequest } from "./UserRepository.ts"

export interface CreateRole {
  readonly name: string
  readonly description?: string
}

export interface UpdateRole {
  readonly name?: string
  readonly description?: string
}

/** Roles and the permissions granted to them. */
export class RoleRepository extends Context.Service<
  RoleRepository,
  {
    readonly create: (input: CreateRole) => Effect.Effect<Role, InvalidInput | RoleNameTaken | DatabaseUnavailable>
    /** Returns the role of that name, creating it if absent; an existing role is returned unchanged. */
    readonly ensure: (input: CreateRole) => Effect.Effect<Role, InvalidInput | DatabaseUnavailable>
    readonly findById: (id: RoleId) => Effect.Effect<Role, RoleNotFound | DatabaseUnavailable>
    readonly findByName: (name: string) => Effect.Effect<Role, RoleNotFound | InvalidInput | DatabaseUnavailable>
    /** By name, keyset-paginated. */
    readonly list: (request?: ListRequest) => Effect.Effect<Page<Role>, InvalidInput | DatabaseUnavailable>
    readonly update: (
      id: RoleId,
      patch: UpdateRole
    ) => Effect.Effect<Role, RoleNotFound | InvalidInput | RoleNameTaken | DatabaseUnavailable>
    /** Audited (`role.deleted`); its user and permission links go with it. */
    readonly delete: (id: RoleId) => Effect.Effect<void, RoleNotFound | DatabaseUnavailable>
    /** Idempotent; audited (`role.permission_granted`) only when the grant is new. */
    readonly grant: (
      roleId: RoleId,
      permissionId: PermissionId
    ) => Effect.Effect<void, RoleNotFound | PermissionNotFound | DatabaseUnavailable>
    /** Idempotent; audited (`role.permission_revoked`) only when a grant was removed. */
    readonly revoke: (
      roleId: RoleId,
      permissionId: PermissionId
    ) => Effect.Effect<void, RoleNotFound | PermissionNotFound | DatabaseUnavailable>
    /** By permission name. */
    readonly permissionsOf: (
      roleId: RoleId
    ) => Effect.Effect<ReadonlyArray<Permission>, RoleNotFound | DatabaseUnavailable>
  }
>()("platform-kernel/Database/RoleRepository") {}
