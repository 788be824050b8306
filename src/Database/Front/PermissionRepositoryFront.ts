import { Effect, Stream } from "effect"
import { PermissionNameTaken, PermissionNotFound } from "../../Domain/index.ts"
import {
  type CreatePermission,
  type ListPermissions,
  PermissionRepository
} from "../Repositories/PermissionRepository.ts"
import { permissionCreatedEvent, permissionDeletedEvent } from "./AuditEvents.ts"
import { makeAuditTrail } from "./AuditTrail.ts"
import { makeNamedRowMethods } from "./NamedRowFront.ts"
import { methodsOf } from "./Operation.ts"
import { listPage, streamOf } from "./Paging.ts"
import {
  decodeListPermissions,
  decodePermissionName,
  newPermissionRow,
  permissionCursor,
  permissionIdRule,
  requestOrEmpty
} from "./RepositoryInputs.ts"
import { RepositoryStore } from "./RepositoryStore.ts"

/** `PermissionRepository` over the `RepositoryStore` of any backend. */
export const makePermissionRepository: Effect.Effect<PermissionRepository["Service"], never, RepositoryStore> =
  Effect.gen(function* () {
    const store = yield* RepositoryStore
    const permissions = store.permissions
    const method = methodsOf("PermissionRepository")
    const named = makeNamedRowMethods({
      method,
      audit: makeAuditTrail(store),
      rows: permissions,
      idRule: permissionIdRule,
      newRow: (input: CreatePermission) => newPermissionRow(input),
      decodeName: decodePermissionName,
      nameNotFound: (name) => new PermissionNotFound({ name }),
      nameTaken: (name) => new PermissionNameTaken({ name }),
      createdEvent: permissionCreatedEvent,
      deletedEvent: permissionDeletedEvent
    })

    const list = method("list")(function* (request?: ListPermissions) {
      const valid = yield* decodeListPermissions(requestOrEmpty(request))
      return yield* listPage(
        valid,
        permissionCursor,
        ({ after, limit }) => permissions.list({ after: after?.[0], module: valid.module, limit }),
        (permission) => [permission.name] as const
      )
    })

    // Decoded once, before the first page: pages are then asked for with the checked copy only.
    const stream = (request?: ListPermissions) =>
      Stream.unwrap(Effect.map(decodeListPermissions(requestOrEmpty(request)), streamOf(list)))

    return PermissionRepository.of({ ...named, list, stream })
  })
