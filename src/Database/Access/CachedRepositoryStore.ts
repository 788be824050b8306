import { Effect } from "effect"
import type { SqlClient } from "effect/sql"
import type { LinkStore, RepositoryStore } from "../Front/RepositoryStore.ts"
import type { PermissionCache } from "./PermissionCache.ts"

/**
 * `store` with `hasPermission` answered through `cache`, and every write that can change an answer dropping
 * the cache once it commits (at once outside a transaction, after the outermost COMMIT inside one): a
 * change made through this process's repositories is seen by its next check, without waiting for the
 * notification that tells the other processes.
 */
export const withPermissionCache = (
  store: RepositoryStore["Service"],
  cache: PermissionCache["Service"],
  sql: SqlClient.SqlClient
): RepositoryStore["Service"] => {
  const invalidating = <A, E, R>(write: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.tap(write, () => sql.afterCommit(cache.invalidate))
  // biome-ignore lint/suspicious/noExplicitAny: the decoration is the same for every link table
  const links = <L extends LinkStore<any, any, any, any>>(link: L): L => ({
    ...link,
    add: (holder, held) => invalidating(link.add(holder, held)),
    remove: (holder, held) => invalidating(link.remove(holder, held))
  })
  const { users, roles, permissions } = store
  return {
    ...store,
    users: {
      ...users,
      delete: (id) => invalidating(users.delete(id)),
      roles: links(users.roles),
      hasPermission: (userId, permission) =>
        // Built only on a miss: a hit must not pay for the batched lookup it does not run.
        cache.hasPermission(
          userId,
          permission,
          Effect.suspend(() => users.hasPermission(userId, permission))
        ),
      keptPermission: cache.keptAnswer
    },
    roles: {
      ...roles,
      delete: (id) => invalidating(roles.delete(id)),
      permissions: {
        ...links(roles.permissions),
        addAll: (holderId, heldIds) => invalidating(roles.permissions.addAll(holderId, heldIds))
      }
    },
    permissions: { ...permissions, delete: (id) => invalidating(permissions.delete(id)) }
  }
}
