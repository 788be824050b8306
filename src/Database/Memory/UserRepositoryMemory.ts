import { DateTime, Effect, HashMap, Option } from "effect"
import {
  EmailAlreadyTaken,
  newUserId,
  type PasswordHash,
  type PermissionName,
  pageFromRows,
  passwordHashFromText,
  type RoleId,
  RoleWithPermissions,
  User,
  type UserId,
  UserNotFound,
  UserWithAccess
} from "../../Domain/index.ts"
import { AuditActions, userCreatedEvent, userDeletedEvent } from "../Repositories/AuditEvents.ts"
import {
  decodeCreateUser,
  decodeEmail,
  decodePageRequest,
  decodePermissionToCheck,
  decodeUpdateUser,
  orEmpty,
  redactedText,
  userCursor,
  userIdRule,
  userNotFound,
  validUserId
} from "../Repositories/RepositoryInputs.ts"
import type { CreateUser, ListRequest, UpdateUser, UserRepository } from "../Repositories/UserRepository.ts"
import { makeMemoryAuditTrail } from "./MemoryAudit.ts"
import { makeLinkChanges, UserRoles } from "./MemoryLinks.ts"
import {
  compareText,
  findValue,
  permissionsOfRole,
  permissionsOfUser,
  rolesOfUser,
  withoutUser
} from "./MemoryRelations.ts"
import { MemoryStore, type MemoryTables } from "./MemoryStore.ts"

// citext: equal when equal ignoring case (Email already lower-cases, this keeps the rule explicit).
const sameEmail = (left: string, right: string): boolean => left.toLowerCase() === right.toLowerCase()

const userByEmail = (tables: MemoryTables, email: string): Option.Option<User> =>
  findValue(tables.users, (user) => sameEmail(user.email, email))

/** `UserRepository` on the `MemoryStore`, with the behaviour of `UserRepositoryPg`. */
export const makeUserRepositoryMemory: Effect.Effect<UserRepository["Service"], never, MemoryStore> = Effect.gen(
  function* () {
    const store = yield* MemoryStore
    const audit = makeMemoryAuditTrail(store)
    const roleLinks = makeLinkChanges(store, UserRoles)

    const existingUser = (tables: MemoryTables, id: UserId): Effect.Effect<User, UserNotFound> =>
      Option.match(HashMap.get(tables.users, id), {
        onNone: () => Effect.fail(userNotFound(id)),
        onSome: Effect.succeed
      })

    const create = Effect.fn("UserRepository.create")(function* (input: CreateUser) {
      const { email, verified } = yield* decodeCreateUser(input)
      const passwordHash = yield* redactedText("passwordHash", input?.passwordHash, passwordHashFromText)
      const id = yield* newUserId
      return yield* audit.audited(
        Effect.fnUntraced(function* (tables: MemoryTables) {
          if (Option.isSome(userByEmail(tables, email))) return yield* new EmailAlreadyTaken({ email })
          const now = yield* store.transactionTime
          const user = new User({
            id,
            email,
            passwordHash,
            verified: verified ?? false,
            createdAt: now,
            updatedAt: now
          })
          return [user, { ...tables, users: HashMap.set(tables.users, id, user) }] as const
        }),
        (user) => Option.some(userCreatedEvent(user))
      )
    })

    const findById = Effect.fn("UserRepository.findById")(function* (id: UserId) {
      const userId = validUserId(id)
      if (Option.isNone(userId)) return yield* userNotFound(id)
      return yield* existingUser(yield* store.read, userId.value)
    })

    const findByEmail = Effect.fn("UserRepository.findByEmail")(function* (email: string) {
      const normalised = yield* decodeEmail(email)
      const user = userByEmail(yield* store.read, normalised)
      if (Option.isNone(user)) return yield* new UserNotFound({ email: normalised })
      return user.value
    })

    const list = Effect.fn("UserRepository.list")(function* (request?: ListRequest) {
      const { limit, cursor } = yield* decodePageRequest(orEmpty(request))
      // Lower-cased so text order is uuid order, whatever the case of the cursor's id.
      const after = cursor === undefined ? undefined : (yield* userCursor.decode(cursor))[0].toLowerCase()
      const rows = [...HashMap.values((yield* store.read).users)]
        .filter((user) => after === undefined || user.id > after)
        .sort((left, right) => compareText(left.id, right.id))
        .slice(0, limit + 1)
      return pageFromRows(rows, limit, (user) => [user.id] as const, userCursor)
    })

    const update = Effect.fn("UserRepository.update")(function* (id: UserId, patch: UpdateUser) {
      const fields = yield* decodeUpdateUser(patch)
      const passwordHash: PasswordHash | undefined =
        patch?.passwordHash === undefined
          ? undefined
          : yield* redactedText("passwordHash", patch.passwordHash, passwordHashFromText)
      const userId = validUserId(id)
      if (Option.isNone(userId)) return yield* userNotFound(id)
      const changes = { ...fields, ...(passwordHash === undefined ? {} : { passwordHash }) }
      // An empty patch changes nothing (and must not touch updated_at): it returns the current row.
      if (Object.keys(changes).length === 0) return yield* findById(userId.value)
      return yield* store.update(
        Effect.fnUntraced(function* (tables: MemoryTables) {
          const current = yield* existingUser(tables, userId.value)
          const email = changes.email
          if (email !== undefined) {
            const holder = userByEmail(tables, email)
            if (Option.isSome(holder) && holder.value.id !== current.id) return yield* new EmailAlreadyTaken({ email })
          }
          // The trigger uses clock_timestamp(), not the transaction's start time.
          const user = new User({ ...current, ...changes, updatedAt: yield* DateTime.now })
          return [user, { ...tables, users: HashMap.set(tables.users, user.id, user) }] as const
        })
      )
    })

    const delete_ = Effect.fn("UserRepository.delete")(function* (id: UserId) {
      yield* audit.auditedDelete(
        userIdRule,
        id,
        (tables, id) => HashMap.get(tables.users, id),
        withoutUser,
        userDeletedEvent
      )
    })

    const assignRole = Effect.fn("UserRepository.assignRole")(function* (userId: UserId, roleId: RoleId) {
      return yield* roleLinks.add(AuditActions.userRoleAssigned, userId, roleId)
    })

    const removeRole = Effect.fn("UserRepository.removeRole")(function* (userId: UserId, roleId: RoleId) {
      return yield* roleLinks.remove(AuditActions.userRoleRemoved, userId, roleId)
    })

    const rolesOf = Effect.fn("UserRepository.rolesOf")(function* (id: UserId) {
      const userId = validUserId(id)
      if (Option.isNone(userId)) return yield* userNotFound(id)
      const tables = yield* store.read
      yield* existingUser(tables, userId.value)
      return rolesOfUser(tables, userId.value)
    })

    const permissionsOf = Effect.fn("UserRepository.permissionsOf")(function* (id: UserId) {
      const userId = validUserId(id)
      if (Option.isNone(userId)) return yield* userNotFound(id)
      const tables = yield* store.read
      yield* existingUser(tables, userId.value)
      return permissionsOfUser(tables, userId.value)
    })

    const hasPermission = Effect.fn("UserRepository.hasPermission")(function* (
      id: UserId,
      permission: PermissionName | string
    ) {
      const name = yield* decodePermissionToCheck(permission)
      const userId = validUserId(id)
      // An unknown user holds nothing, and a malformed id cannot name one.
      if (Option.isNone(userId)) return false
      return permissionsOfUser(yield* store.read, userId.value).some((held) => held.name === name)
    })

    const findWithAccess = Effect.fn("UserRepository.findWithAccess")(function* (id: UserId) {
      const userId = validUserId(id)
      if (Option.isNone(userId)) return yield* userNotFound(id)
      const tables = yield* store.read
      const user = yield* existingUser(tables, userId.value)
      return new UserWithAccess({
        user,
        roles: rolesOfUser(tables, user.id).map(
          (role) => new RoleWithPermissions({ role, permissions: permissionsOfRole(tables, role.id) })
        )
      })
    })

    return {
      create,
      findById,
      findByEmail,
      list,
      update,
      delete: delete_,
      assignRole,
      removeRole,
      rolesOf,
      permissionsOf,
      hasPermission,
      findWithAccess
    }
  }
)
