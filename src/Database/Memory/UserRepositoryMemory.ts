import { DateTime, Effect, HashMap, Option, Schema } from "effect"
import {
  decodeInput,
  Email,
  EmailAlreadyTaken,
  makeCursorCodec,
  newUserId,
  type PasswordHash,
  PermissionName,
  pageFromRows,
  passwordHashFromText,
  RoleId,
  RoleNotFound,
  RoleWithPermissions,
  User,
  UserId,
  UserNotFound,
  UserWithAccess
} from "../../Domain/index.ts"
import { AuditActions, type AuditEvent } from "../Postgres/AuditTrail.ts"
import { decodePageRequest, orEmpty, redactedText, validId } from "../Postgres/Inputs.ts"
import type { CreateUser, ListRequest, UpdateUser, UserRepository } from "../Repositories/UserRepository.ts"
import { audited } from "./MemoryAudit.ts"
import {
  compareText,
  findValue,
  permissionsOfRole,
  permissionsOfUser,
  rolesOfUser,
  withoutUser
} from "./MemoryRelations.ts"
import { linkKey, MemoryStore, type MemoryTables } from "./MemoryStore.ts"

// The same inputs, rules and cursor keys as UserRepositoryPg, from the same domain schemas.
const userCursor = makeCursorCodec(Schema.Tuple([UserId]))

const decodeCreate = decodeInput(Schema.Struct({ email: Email, verified: Schema.optionalKey(Schema.Boolean) }))
const decodeUpdate = decodeInput(
  Schema.Struct({ email: Schema.optionalKey(Email), verified: Schema.optionalKey(Schema.Boolean) })
)
const decodeEmail = decodeInput(Email, "email")
const decodePermission = decodeInput(PermissionName, "permission")

const validUserId = validId(UserId)
const validRoleId = validId(RoleId)

// A malformed id names no user; the error still reports what the caller asked for.
const userNotFound = (id: string) => new UserNotFound({ id: id as UserId }, { disableChecks: true })
const roleNotFound = (id: string) => new RoleNotFound({ id: id as RoleId }, { disableChecks: true })

// citext: equal when equal ignoring case (Email already lower-cases, this keeps the rule explicit).
const sameEmail = (left: string, right: string): boolean => left.toLowerCase() === right.toLowerCase()

const userByEmail = (tables: MemoryTables, email: string): Option.Option<User> =>
  findValue(tables.users, (user) => sameEmail(user.email, email))

/** `UserRepository` on the `MemoryStore`, with the behaviour of `UserRepositoryPg`. */
export const makeUserRepositoryMemory: Effect.Effect<UserRepository["Service"], never, MemoryStore> = Effect.gen(
  function* () {
    const store = yield* MemoryStore
    const auditedChange = audited(store)

    const existingUser = (tables: MemoryTables, id: UserId): Effect.Effect<User, UserNotFound> =>
      Option.match(HashMap.get(tables.users, id), {
        onNone: () => Effect.fail(userNotFound(id)),
        onSome: Effect.succeed
      })

    const create = Effect.fn("UserRepository.create")(function* (input: CreateUser) {
      const { email, verified } = yield* decodeCreate(input)
      const passwordHash = yield* redactedText("passwordHash", input?.passwordHash, passwordHashFromText)
      const id = yield* newUserId
      return yield* auditedChange(
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
        (user) =>
          Option.some({
            action: AuditActions.userCreated,
            targetId: user.id,
            metadata: { email: user.email, verified: user.verified }
          })
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
      const fields = yield* decodeUpdate(patch)
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
      const userId = validUserId(id)
      if (Option.isNone(userId)) return yield* userNotFound(id)
      yield* auditedChange(
        Effect.fnUntraced(function* (tables: MemoryTables) {
          const user = yield* existingUser(tables, userId.value)
          return [user, withoutUser(tables, user.id)] as const
        }),
        (deleted): Option.Option<AuditEvent> =>
          Option.some({ action: AuditActions.userDeleted, targetId: deleted.id, metadata: { email: deleted.email } })
      )
    })

    // Shared by assignRole and removeRole: NotFound checks, then the audit record only when a link changed.
    const changeLink = (
      action: typeof AuditActions.userRoleAssigned,
      id: UserId,
      role: RoleId,
      apply: (tables: MemoryTables, userId: UserId, roleId: RoleId) => Effect.Effect<Option.Option<MemoryTables>>
    ) =>
      Effect.gen(function* () {
        const userId = validUserId(id)
        if (Option.isNone(userId)) return yield* userNotFound(id)
        const roleId = validRoleId(role)
        if (Option.isNone(roleId)) return yield* roleNotFound(role)
        yield* auditedChange(
          Effect.fnUntraced(function* (tables: MemoryTables) {
            const user = yield* existingUser(tables, userId.value)
            const found = HashMap.get(tables.roles, roleId.value)
            if (Option.isNone(found)) return yield* roleNotFound(roleId.value)
            const changed = yield* apply(tables, user.id, found.value.id)
            const result = { email: user.email, roleName: found.value.name, changed: Option.isSome(changed) }
            return [result, Option.getOrElse(changed, () => tables)] as const
          }),
          (result): Option.Option<AuditEvent> =>
            result.changed
              ? Option.some({
                  action,
                  targetId: userId.value,
                  metadata: { email: result.email, roleId: roleId.value, roleName: result.roleName }
                })
              : Option.none()
        )
      })

    const assignRole = Effect.fn("UserRepository.assignRole")(function* (userId: UserId, roleId: RoleId) {
      return yield* changeLink(AuditActions.userRoleAssigned, userId, roleId, (tables, user, role) =>
        Effect.gen(function* () {
          const key = linkKey(user, role)
          if (HashMap.has(tables.userRoles, key)) return Option.none()
          const link = { userId: user, roleId: role, createdAt: yield* store.transactionTime }
          return Option.some({ ...tables, userRoles: HashMap.set(tables.userRoles, key, link) })
        })
      )
    })

    const removeRole = Effect.fn("UserRepository.removeRole")(function* (userId: UserId, roleId: RoleId) {
      return yield* changeLink(AuditActions.userRoleRemoved, userId, roleId, (tables, user, role) => {
        const key = linkKey(user, role)
        return Effect.succeed(
          HashMap.has(tables.userRoles, key)
            ? Option.some({ ...tables, userRoles: HashMap.remove(tables.userRoles, key) })
            : Option.none()
        )
      })
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
      const name = yield* decodePermission(permission)
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
