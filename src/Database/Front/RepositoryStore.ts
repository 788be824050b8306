import { type Array as Arr, Context, Data, type DateTime, type Effect, type Option, type Schema } from "effect"
import type { SqlError } from "effect/sql"
import type {
  AuditAction,
  AuditLog,
  AuditLogId,
  Email,
  Permission,
  PermissionId,
  PermissionName,
  Role,
  RoleId,
  RoleName,
  User,
  UserId,
  UserWithAccess
} from "../../Domain/index.ts"
import type { RolePatchFields, UserPatchFields } from "./RepositoryInputs.ts"

// The storage half of the repositories: what each backend implements, and nothing else. Every argument has
// been checked by the front already (ids well-formed, names and patches valid, patches non-empty), so a
// store neither validates, nor chooses audit events, nor names spans, nor builds domain errors.

/** How a store operation can fail besides its typed outcomes; the front maps it to the domain. */
export type StoreFailure = SqlError.SqlError | Schema.SchemaError

/** The write would give a unique key (an e-mail, a role or permission name) to a second row. */
export class KeyTaken extends Data.TaggedError("KeyTaken") {}

/**
 * What adding or removing a link found: the label (e-mail or name) of each end, null when that row does not
 * exist (then nothing changed), and whether a link was actually added or removed.
 */
export interface LinkChange {
  readonly holderLabel: string | null
  readonly heldLabel: string | null
  readonly changed: boolean
}

/** A link table: a user's roles, a role's permissions. Adding an existing link or removing an absent one changes nothing. */
export interface LinkStore<HolderId, HeldId> {
  readonly add: (holderId: HolderId, heldId: HeldId) => Effect.Effect<LinkChange, StoreFailure>
  readonly remove: (holderId: HolderId, heldId: HeldId) => Effect.Effect<LinkChange, StoreFailure>
}

/** At most `limit` rows after the key `after` (from the start when undefined), in key order. */
export interface PageQuery<Key> {
  readonly after: Key | undefined
  readonly limit: number
}

/** A table of rows with a unique name: `roles`, `permissions`. */
export interface NamedRowStore<Row, Insert, Id, Name, Query extends PageQuery<Name>> {
  readonly insert: (row: Insert) => Effect.Effect<Row, KeyTaken | StoreFailure>
  /** The row of `row`'s name, inserted as `row` when there is none; an existing one is returned unchanged. */
  readonly insertOrGet: (row: Insert) => Effect.Effect<Row, StoreFailure>
  readonly findById: (id: Id) => Effect.Effect<Option.Option<Row>, StoreFailure>
  readonly findByName: (name: Name) => Effect.Effect<Option.Option<Row>, StoreFailure>
  /** By name. */
  readonly list: (query: Query) => Effect.Effect<ReadonlyArray<Row>, StoreFailure>
  /** The deleted row; its links go with it. */
  readonly delete: (id: Id) => Effect.Effect<Option.Option<Row>, StoreFailure>
}

export interface UserStore {
  readonly insert: (row: typeof User.insert.Type) => Effect.Effect<User, KeyTaken | StoreFailure>
  readonly findById: (id: UserId) => Effect.Effect<Option.Option<User>, StoreFailure>
  /** Case-insensitive. */
  readonly findByEmail: (email: Email) => Effect.Effect<Option.Option<User>, StoreFailure>
  /** By id. */
  readonly list: (query: PageQuery<UserId>) => Effect.Effect<ReadonlyArray<User>, StoreFailure>
  /** Sets the given columns (at least one) and stamps `updatedAt`; `None` when there is no such user. */
  readonly update: (id: UserId, patch: UserPatchFields) => Effect.Effect<Option.Option<User>, KeyTaken | StoreFailure>
  /** The deleted user; its role links go with it. */
  readonly delete: (id: UserId) => Effect.Effect<Option.Option<User>, StoreFailure>
  readonly roles: LinkStore<UserId, RoleId>
  /** By role name; `None` when there is no such user. */
  readonly rolesOf: (id: UserId) => Effect.Effect<Option.Option<ReadonlyArray<Role>>, StoreFailure>
  /** Distinct, by permission name; `None` when there is no such user. */
  readonly permissionsOf: (id: UserId) => Effect.Effect<Option.Option<ReadonlyArray<Permission>>, StoreFailure>
  readonly hasPermission: (id: UserId, permission: PermissionName) => Effect.Effect<boolean, StoreFailure>
  /** Roles by name, each with its permissions by name. */
  readonly findWithAccess: (id: UserId) => Effect.Effect<Option.Option<UserWithAccess>, StoreFailure>
}

export interface RoleStore extends NamedRowStore<Role, typeof Role.insert.Type, RoleId, RoleName, PageQuery<RoleName>> {
  /** Sets the given columns (at least one); `None` when there is no such role. */
  readonly update: (id: RoleId, patch: RolePatchFields) => Effect.Effect<Option.Option<Role>, KeyTaken | StoreFailure>
  readonly permissions: LinkStore<RoleId, PermissionId>
  /** By permission name; `None` when there is no such role. */
  readonly permissionsOf: (id: RoleId) => Effect.Effect<Option.Option<ReadonlyArray<Permission>>, StoreFailure>
}

export interface PermissionQuery extends PageQuery<PermissionName> {
  /** Only names starting with `module.`. */
  readonly module: string | undefined
}

export type PermissionStore = NamedRowStore<
  Permission,
  typeof Permission.insert.Type,
  PermissionId,
  PermissionName,
  PermissionQuery
>

/** The keyset of the audit trail: the exact timestamp (microseconds since the epoch, as text) and the id. */
export type AuditKey = readonly [timestampUs: string, id: AuditLogId]

export interface AuditLogQuery extends PageQuery<AuditKey> {
  readonly actorId: UserId | undefined
  readonly targetId: string | undefined
  readonly action: AuditAction | undefined
  /** Inclusive. */
  readonly from: DateTime.DateTime | undefined
  /** Exclusive. */
  readonly to: DateTime.DateTime | undefined
}

export interface AuditLogStore {
  /** All or nothing; the stored rows in the order of `rows`, stamped with the transaction's time. */
  readonly insert: (
    rows: Arr.NonEmptyReadonlyArray<typeof AuditLog.insert.Type>
  ) => Effect.Effect<ReadonlyArray<AuditLog>, StoreFailure>
  readonly findById: (id: AuditLogId) => Effect.Effect<Option.Option<AuditLog>, StoreFailure>
  /** Newest first (by `AuditKey`, descending), each row with its key. */
  readonly list: (query: AuditLogQuery) => Effect.Effect<ReadonlyArray<readonly [AuditLog, AuditKey]>, StoreFailure>
}

/** The storage of every repository, implemented once per backend (PostgreSQL, memory). */
export class RepositoryStore extends Context.Service<
  RepositoryStore,
  {
    readonly users: UserStore
    readonly roles: RoleStore
    readonly permissions: PermissionStore
    readonly auditLogs: AuditLogStore
    /**
     * Runs `effect` as one transaction, or as a savepoint inside the caller's: its writes are kept when it
     * succeeds and discarded otherwise (failure, defect or interruption).
     */
    readonly transaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StoreFailure, R>
  }
>()("platform-kernel/Database/RepositoryStore") {}
