import { Context, type Effect, type Redacted, type Stream } from "effect"
import type {
  DatabaseUnavailable,
  EmailAlreadyTaken,
  InvalidInput,
  Page,
  Permission,
  PermissionName,
  Role,
  RoleId,
  RoleNotFound,
  User,
  UserId,
  UserNotFound,
  UserWithAccess
} from "../../Domain/index.ts"

/** A new user: e-mail, password hash (never logged) and, optionally, whether it is verified. */
export interface CreateUser {
  /** Trimmed and lower-cased (ASCII letters) before it is stored. */
  readonly email: string
  /** A hash made by the caller; this layer stores it and never hashes. */
  readonly passwordHash: Redacted.Redacted<string>
  readonly verified?: boolean | undefined
}

// Optional fields accept `undefined` as absent, so a caller under `exactOptionalPropertyTypes` passes what it
// has (`{ cursor: maybeCursor }`) without building the object key by key.

/** Each change is audited: `user.email_changed`, `user.password_changed`, `user.verified_changed`. */
export interface UpdateUser {
  readonly email?: string | undefined
  readonly passwordHash?: Redacted.Redacted<string> | undefined
  readonly verified?: boolean | undefined
}

/** Paging of a listing: page size and the cursor of the previous page, each optional. */
export interface ListRequest {
  /** 1..500, default 50; the page size of a `stream`. */
  readonly limit?: number | undefined
  /** `nextCursor` of the previous page; where a `stream` starts. */
  readonly cursor?: string | undefined
}

/**
 * Users, their roles, and what those roles permit. An id argument that is a string but no id of its kind
 * names nothing (`UserNotFound`, `RoleNotFound`); one that is not a string at all is `InvalidInput`.
 */
export class UserRepository extends Context.Service<
  UserRepository,
  {
    /** Audited (`user.created`). */
    readonly create: (input: CreateUser) => Effect.Effect<User, InvalidInput | EmailAlreadyTaken | DatabaseUnavailable>
    /** Concurrent calls are batched into one query. */
    readonly findById: (id: UserId) => Effect.Effect<User, UserNotFound | InvalidInput | DatabaseUnavailable>
    /** Case-insensitive. */
    readonly findByEmail: (email: string) => Effect.Effect<User, UserNotFound | InvalidInput | DatabaseUnavailable>
    /** Oldest first (ids are time-ordered), keyset-paginated. */
    readonly list: (request?: ListRequest) => Effect.Effect<Page<User>, InvalidInput | DatabaseUnavailable>
    /** Every user, in `list` order, fetched one page at a time as the stream is consumed. */
    readonly stream: (request?: ListRequest) => Stream.Stream<User, InvalidInput | DatabaseUnavailable>
    /**
     * Audited, one record per changed field (`user.email_changed`, `user.password_changed` without the
     * hash, `user.verified_changed`); a patch that changes nothing records nothing.
     */
    readonly update: (
      id: UserId,
      patch: UpdateUser
    ) => Effect.Effect<User, UserNotFound | InvalidInput | EmailAlreadyTaken | DatabaseUnavailable>
    /** Audited (`user.deleted`); the user's role links go with it. */
    readonly delete: (id: UserId) => Effect.Effect<void, UserNotFound | InvalidInput | DatabaseUnavailable>
    /** Idempotent; audited (`user.role_assigned`) only when the link is new. */
    readonly assignRole: (
      userId: UserId,
      roleId: RoleId
    ) => Effect.Effect<void, UserNotFound | RoleNotFound | InvalidInput | DatabaseUnavailable>
    /** `assignRole` by the role's name: `RoleNotFound` names the name, `InvalidInput` is on `roleName`. */
    readonly assignRoleByName: (
      userId: UserId,
      roleName: string
    ) => Effect.Effect<void, UserNotFound | RoleNotFound | InvalidInput | DatabaseUnavailable>
    /** Idempotent; audited (`user.role_removed`) only when a link was removed. */
    readonly removeRole: (
      userId: UserId,
      roleId: RoleId
    ) => Effect.Effect<void, UserNotFound | RoleNotFound | InvalidInput | DatabaseUnavailable>
    /** By role name. */
    readonly rolesOf: (
      userId: UserId
    ) => Effect.Effect<ReadonlyArray<Role>, UserNotFound | InvalidInput | DatabaseUnavailable>
    /** Distinct, by permission name. */
    readonly permissionsOf: (
      userId: UserId
    ) => Effect.Effect<ReadonlyArray<Permission>, UserNotFound | InvalidInput | DatabaseUnavailable>
    /** One indexed query; false for an unknown user. */
    readonly hasPermission: (
      userId: UserId,
      permission: PermissionName | string
    ) => Effect.Effect<boolean, InvalidInput | DatabaseUnavailable>
    /** The user with its roles and their permissions, in one round trip. */
    readonly findWithAccess: (
      userId: UserId
    ) => Effect.Effect<UserWithAccess, UserNotFound | InvalidInput | DatabaseUnavailable>
  }
>()("platform-kernel/Database/UserRepository") {}
