import { Context, type Effect } from "effect"
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

export interface CreatePermission {
  /** `module.resource.action`. */
  readonly name: string
  readonly description?: string
}

export interface ListPermissions extends ListRequest {
  /** Only the permissions of this module (the first segment of the name). */
  readonly module?: string
}

/** Permissions, named `module.resource.action`. */
export class PermissionRepository extends Context.Service<
  PermissionRepository,
  {
    readonly create: (
      input: CreatePermission
    ) => Effect.Effect<Permission, InvalidInput | PermissionNameTaken | DatabaseUnavailable>
    /** Returns the permission of that name, creating it if absent; an existing one is returned unchanged. */
    readonly ensure: (input: CreatePermission) => Effect.Effect<Permission, InvalidInput | DatabaseUnavailable>
    readonly findById: (id: PermissionId) => Effect.Effect<Permission, PermissionNotFound | DatabaseUnavailable>
    readonly findByName: (
      name: string
    ) => Effect.Effect<Permission, PermissionNotFound | InvalidInput | DatabaseUnavailable>
    /** By name, keyset-paginated. */
    readonly list: (request?: ListPermissions) => Effect.Effect<Page<Permission>, InvalidInput | DatabaseUnavailable>
    /** Audited (`permission.deleted`); its role grants go with it. */
    readonly delete: (id: PermissionId) => Effect.Effect<void, PermissionNotFound | DatabaseUnavailable>
  }
>()("platform-kernel/Database/PermissionRepository") {}
