import { Context, type Effect, type Stream } from "effect"
import type {
  DatabaseUnavailable,
  InvalidInput,
  Page,
  Permission,
  PermissionId,
  PermissionNameTaken,
  PermissionNotFound
} from "../../Domain/index.ts"
import type { ListRequest } from "./UserRepository.ts"

/** A new permission: its name and, optionally, a description. */
export interface CreatePermission {
  /** `module.resource.action`. */
  readonly name: string
  readonly description?: string | undefined
}

/** Paging of `PermissionRepository.list` (by name), optionally within one module. */
export interface ListPermissions extends ListRequest {
  /** Only the permissions of this module (the first segment of the name). */
  readonly module?: string | undefined
}

/**
 * Permissions, named `module.resource.action`. An id argument that is a string but no permission id names
 * nothing (`PermissionNotFound`); one that is not a string at all is `InvalidInput`.
 */
export class PermissionRepository extends Context.Service<
  PermissionRepository,
  {
    /** Audited (`permission.created`). */
    readonly create: (
      input: CreatePermission
    ) => Effect.Effect<Permission, InvalidInput | PermissionNameTaken | DatabaseUnavailable>
    /**
     * Returns the permission of that name, creating it if absent (audited: `permission.created`); an
     * existing one is returned unchanged.
     */
    readonly ensure: (input: CreatePermission) => Effect.Effect<Permission, InvalidInput | DatabaseUnavailable>
    readonly findById: (
      id: PermissionId
    ) => Effect.Effect<Permission, PermissionNotFound | InvalidInput | DatabaseUnavailable>
    readonly findByName: (
      name: string
    ) => Effect.Effect<Permission, PermissionNotFound | InvalidInput | DatabaseUnavailable>
    /** By name, keyset-paginated. */
    readonly list: (request?: ListPermissions) => Effect.Effect<Page<Permission>, InvalidInput | DatabaseUnavailable>
    /** Every permission (of `module`, if given), in `list` order, fetched one page at a time as the stream is consumed. */
    readonly stream: (request?: ListPermissions) => Stream.Stream<Permission, InvalidInput | DatabaseUnavailable>
    /** Audited (`permission.deleted`); its role grants go with it. */
    readonly delete: (id: PermissionId) => Effect.Effect<void, PermissionNotFound | InvalidInput | DatabaseUnavailable>
  }
>()("platform-kernel/Database/PermissionRepository") {}
