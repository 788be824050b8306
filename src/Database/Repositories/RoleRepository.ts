import { Context, type Effect, type Stream } from "effect"
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
  RoleNotFound,
  RoleWithPermissions
} from "../../Domain/index.ts"
import type { ListRequest } from "./UserRepository.ts"

/** A new role: its name and, optionally, a description. */
export interface CreateRole {
  readonly name: string
  readonly description?: string | undefined
}

/** The fields of a role to change; absent (or `undefined`) fields are kept. */
export interface UpdateRole {
  readonly name?: string | undefined
  readonly description?: string | undefined
}

/** A role and the permissions it must have, e.g. a baseline role of the configuration. */
export interface EnsureRoleWithPermissions extends CreateRole {
  /** Permission names, `module.resource.action`; at most 1000. */
  readonly permissions: ReadonlyArray<string>
}

/**
 * Roles and the permissions granted to them. An id argument that is a string but no id of its kind names
 * nothing (`RoleNotFound`, `PermissionNotFound`); one that is not a string at all is `InvalidInput`.
 */
export class RoleRepository extends Context.Service<
  RoleRepository,
  {
    /** Audited (`role.created`). */
    readonly create: (input: CreateRole) => Effect.Effect<Role, InvalidInput | RoleNameTaken | DatabaseUnavailable>
    /**
     * Returns the role of that name, creating it if absent (audited: `role.created`); an existing role is
     * returned unchanged.
     */
    readonly ensure: (input: CreateRole) => Effect.Effect<Role, InvalidInput | DatabaseUnavailable>
    /**
     * Makes the role and each of its permissions exist and the role hold them, in one transaction: what is
     * missing is created and granted (and audited as `create`, `PermissionRepository.create` and `grant`
     * would), what exists is kept as it is, so a second call changes and records nothing. Every name is
     * checked before anything is written. Returns the role with all its permissions, by name.
     */
    readonly ensureWithPermissions: (
      input: EnsureRoleWithPermissions
    ) => Effect.Effect<RoleWithPermissions, InvalidInput | DatabaseUnavailable>
    readonly findById: (id: RoleId) => Effect.Effect<Role, RoleNotFound | InvalidInput | DatabaseUnavailable>
    readonly findByName: (name: string) => Effect.Effect<Role, RoleNotFound | InvalidInput | DatabaseUnavailable>
    /** By name, keyset-paginated. */
    readonly list: (request?: ListRequest) => Effect.Effect<Page<Role>, InvalidInput | DatabaseUnavailable>
    /** Every role, in `list` order, fetched one page at a time as the stream is consumed. */
    readonly stream: (request?: ListRequest) => Stream.Stream<Role, InvalidInput | DatabaseUnavailable>
    /**
     * Audited, one record per changed field (`role.renamed`, `role.description_changed`); a patch that
     * changes nothing records nothing.
     */
    readonly update: (
      id: RoleId,
      patch: UpdateRole
    ) => Effect.Effect<Role, RoleNotFound | InvalidInput | RoleNameTaken | DatabaseUnavailable>
    /** Audited (`role.deleted`); its user and permission links go with it. */
    readonly delete: (id: RoleId) => Effect.Effect<void, RoleNotFound | InvalidInput | DatabaseUnavailable>
    /** Idempotent; audited (`role.permission_granted`) only when the grant is new. */
    readonly grant: (
      roleId: RoleId,
      permissionId: PermissionId
    ) => Effect.Effect<void, RoleNotFound | PermissionNotFound | InvalidInput | DatabaseUnavailable>
    /**
     * `grant` by names: `RoleNotFound` or `PermissionNotFound` names the name, `InvalidInput` is on
     * `roleName` or `permissionName`.
     */
    readonly grantByName: (
      roleName: string,
      permissionName: string
    ) => Effect.Effect<void, RoleNotFound | PermissionNotFound | InvalidInput | DatabaseUnavailable>
    /** Idempotent; audited (`role.permission_revoked`) only when a grant was removed. */
    readonly revoke: (
      roleId: RoleId,
      permissionId: PermissionId
    ) => Effect.Effect<void, RoleNotFound | PermissionNotFound | InvalidInput | DatabaseUnavailable>
    /** By permission name. */
    readonly permissionsOf: (
      roleId: RoleId
    ) => Effect.Effect<ReadonlyArray<Permission>, RoleNotFound | InvalidInput | DatabaseUnavailable>
  }
>()("platform-kernel/Database/RoleRepository") {}
