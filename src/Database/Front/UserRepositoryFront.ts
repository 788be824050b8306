import { Effect, Exit, Option, Schema, Stream } from "effect"
import {
  type Email,
  EmailAlreadyTaken,
  InvalidInput,
  isNormalisedEmail,
  newUserId,
  PermissionName,
  type RoleId,
  RoleNotFound,
  User,
  type UserId,
  UserNotFound
} from "../../Domain/index.ts"
import { type CreateUser, type ListRequest, type UpdateUser, UserRepository } from "../Repositories/UserRepository.ts"
import { userChangedEvents, userCreatedEvent, userDeletedEvent, userRoleEvents } from "./AuditEvents.ts"
import { makeAuditTrail } from "./AuditTrail.ts"
import { methodsOf } from "./Operation.ts"
import { listPage, streamOf } from "./Paging.ts"
import {
  checkId,
  decodeCreateUser,
  decodeEmail,
  decodePageRequest,
  decodePermissionToCheck,
  decodeRoleNameArgument,
  decodeUpdateUser,
  lookupById,
  lowerCaseId,
  orNotFound,
  requestOrEmpty,
  roleIdRule,
  userCursor,
  userIdRule
} from "./RepositoryInputs.ts"
import { RepositoryStore, type StoreFailure } from "./RepositoryStore.ts"

const isPermissionName = Schema.is(PermissionName)
const answeredTrue = Exit.succeed(true) as Exit.Success<boolean>
const answeredFalse = Exit.succeed(false) as Exit.Success<boolean>

/** `UserRepository` over the `RepositoryStore` of any backend. */
export const makeUserRepository: Effect.Effect<UserRepository["Service"], never, RepositoryStore> = Effect.gen(
  function* () {
    const store = yield* RepositoryStore
    const users = store.users
    const audit = makeAuditTrail(store)
    const method = methodsOf("UserRepository")
    const roleLinks = audit.linkChanges({
      links: users.roles,
      holder: { id: userIdRule, keyNotFound: (email) => new UserNotFound({ email }) },
      held: { id: roleIdRule, keyNotFound: (name) => new RoleNotFound({ name }) },
      events: userRoleEvents
    })

    const create = method("create")(function* (input: CreateUser) {
      const { email, passwordHash, verified } = yield* decodeCreateUser(input)
      const row = User.insert.make({ id: yield* newUserId, email, passwordHash, verified: verified ?? false })
      return yield* audit
        .audited(users.insert(row), (user) => [userCreatedEvent(user)])
        .pipe(Effect.catchTag("KeyTaken", () => Effect.fail(new EmailAlreadyTaken({ email }))))
    })

    // The point reads return their effect rather than run a generator: one fewer object and step a call.
    const findById = method("findById")((id: UserId) => lookupById(userIdRule, "id", id, users.findById))

    const foundByEmail = (email: Email) =>
      Effect.flatMap(users.findByEmail(email), (user) =>
        Option.isNone(user) ? Effect.fail(new UserNotFound({ email })) : Effect.succeed(user.value)
      )
    const findByEmail = method("findByEmail")((email: string) =>
      // An address already in normal form decodes to itself: checked with a plain test, no effect built.
      typeof email === "string" && isNormalisedEmail(email)
        ? foundByEmail(email as Email)
        : Effect.flatMap(decodeEmail(email), foundByEmail)
    )

    const list = method("list")(function* (request?: ListRequest) {
      return yield* listPage(
        yield* decodePageRequest(requestOrEmpty(request)),
        userCursor,
        ({ after, limit }) => users.list({ after: after && lowerCaseId(after[0]), limit }),
        (user) => [user.id] as const
      )
    })

    // Decoded once, before the first page: pages are then asked for with the checked copy only.
    const stream = (request?: ListRequest) =>
      Stream.unwrap(Effect.map(decodePageRequest(requestOrEmpty(request)), streamOf(list)))

    const update = method("update")(function* (id: UserId, patch: UpdateUser) {
      const changes = yield* decodeUpdateUser(patch)
      const userId = yield* checkId(userIdRule, "id", id)
      // An empty patch changes nothing (and must not touch updated_at): it returns the current row.
      if (Object.keys(changes).length === 0) return yield* findById(userId)
      const { after } = yield* audit
        .audited(orNotFound(userIdRule, userId, users.update(userId, changes)), userChangedEvents)
        .pipe(Effect.catchTag("KeyTaken", () => Effect.fail(new EmailAlreadyTaken({ email: changes.email ?? "" }))))
      return after
    })

    const delete_ = method("delete")(function* (id: UserId) {
      yield* audit.auditedDelete(userIdRule, id, users.delete, userDeletedEvent)
    })

    const assignRole = method("assignRole")(function* (userId: UserId, roleId: RoleId) {
      const user = yield* checkId(userIdRule, "userId", userId)
      const role = yield* checkId(roleIdRule, "roleId", roleId)
      yield* roleLinks.add({ id: user }, { id: role })
    })

    const assignRoleByName = method("assignRoleByName")(function* (userId: UserId, roleName: string) {
      const user = yield* checkId(userIdRule, "userId", userId)
      const role = yield* decodeRoleNameArgument(roleName)
      yield* roleLinks.add({ id: user }, { key: role })
    })

    const removeRole = method("removeRole")(function* (userId: UserId, roleId: RoleId) {
      const user = yield* checkId(userIdRule, "userId", userId)
      const role = yield* checkId(roleIdRule, "roleId", roleId)
      yield* roleLinks.remove({ id: user }, { id: role })
    })

    const rolesOf = method("rolesOf")(function* (id: UserId) {
      return yield* lookupById(userIdRule, "userId", id, users.rolesOf)
    })

    const permissionsOf = method("permissionsOf")(function* (id: UserId) {
      return yield* lookupById(userIdRule, "userId", id, users.permissionsOf)
    })

    // The hottest call of the platform: both arguments are checked without building an effect when valid, and
    // when the store keeps answers (the permission cache), a kept one is given in a single step.
    const kept = users.keptPermission
    const checkPermission = (id: UserId, name: PermissionName): Effect.Effect<boolean, InvalidInput | StoreFailure> => {
      if (typeof id !== "string") return Effect.fail(InvalidInput.fromRule("userId", "must be a string"))
      const userId = userIdRule.validId(id)
      // An unknown user holds nothing, and a malformed id cannot name one.
      if (Option.isNone(userId)) return Effect.succeed(false)
      return users.hasPermission(userId.value, name)
    }
    const hasPermission = method("hasPermission")(
      (id: UserId, permission: PermissionName | string) =>
        isPermissionName(permission)
          ? checkPermission(id, permission)
          : Effect.flatMap(decodePermissionToCheck(permission), (name) => checkPermission(id, name)),
      {
        answer:
          kept &&
          ((context, id, permission) => {
            // Ids and names are kept as checked (lower-case ids): an argument found as is needs no check of its
            // own. A name not found may be malformed, which the body refuses; anything else is the body's too.
            if (typeof id !== "string" || typeof permission !== "string") return undefined
            const allowed = kept(id, permission, context)
            if (allowed === undefined) return undefined
            return allowed ? answeredTrue : isPermissionName(permission) ? answeredFalse : undefined
          })
      }
    )

    const findWithAccess = method("findWithAccess")(function* (id: UserId) {
      return yield* lookupById(userIdRule, "userId", id, users.findWithAccess)
    })

    return UserRepository.of({
      create,
      findById,
      findByEmail,
      list,
      stream,
      update,
      delete: delete_,
      assignRole,
      assignRoleByName,
      removeRole,
      rolesOf,
      permissionsOf,
      hasPermission,
      findWithAccess
    })
  }
)
