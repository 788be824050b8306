import { DateTime, Effect, HashMap, Option } from "effect"
import { RoleWithPermissions, User, UserWithAccess } from "../../Domain/index.ts"
import type { UserStore } from "../Front/RepositoryStore.ts"
import { makeLinkStoreMemory } from "./LinkStoreMemory.ts"
import { permissionsOfRole, permissionsOfUser, rolesOfUser } from "./MemoryRelations.ts"
import type { MemoryStore, MemoryTables } from "./MemoryStore.ts"
import { makeTableOperations, rolesTable, usersTable } from "./MemoryTable.ts"

/** `users` and `user_roles` in the `MemoryStore`. */
export const makeUserStoreMemory = (store: MemoryStore["Service"]): UserStore => {
  const users = makeTableOperations(store, usersTable)

  // What `f` reads of the user `id`; `None` when there is no such user.
  const ofUser =
    <A>(f: (tables: MemoryTables, user: User) => A) =>
    (id: User["id"]) =>
      Effect.map(store.read, (tables) => Option.map(HashMap.get(tables.users, id), (user) => f(tables, user)))

  return {
    insert: (row) => users.insert(row.email, (now) => new User({ ...row, createdAt: now, updatedAt: now })),
    findById: users.findById,
    findByEmail: users.findByKey,
    list: (query) => users.page(query, (user) => user.id),
    update: (id, patch) =>
      // The trigger stamps updated_at with clock_timestamp(), not the transaction's start time.
      users.update(id, patch.email, (current) =>
        Effect.map(DateTime.now, (now) => new User({ ...current, ...patch, updatedAt: now }))
      ),
    delete: users.delete,
    roles: makeLinkStoreMemory(store, {
      holder: { table: usersTable, label: (user) => user.email },
      held: { table: rolesTable, label: (role) => role.name },
      rows: (tables) => tables.userRoles,
      withRows: (tables, userRoles) => ({ ...tables, userRoles }),
      makeRow: (userId, roleId, createdAt) => ({ userId, roleId, createdAt })
    }),
    rolesOf: ofUser((tables, user) => rolesOfUser(tables, user.id)),
    permissionsOf: ofUser((tables, user) => permissionsOfUser(tables, user.id)),
    hasPermission: (id, permission) =>
      Effect.map(store.read, (tables) => permissionsOfUser(tables, id).some((held) => held.name === permission)),
    findWithAccess: ofUser(
      (tables, user) =>
        new UserWithAccess({
          user,
          roles: rolesOfUser(tables, user.id).map(
            (role) => new RoleWithPermissions({ role, permissions: permissionsOfRole(tables, role.id) })
          )
        })
    )
  }
}
