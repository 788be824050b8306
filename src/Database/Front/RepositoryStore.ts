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

/** A row named by its id or by its unique key (a user's e-mail, a role's or a permission's name). */
export type RowRef<Id, Key> = { readonly id: Id } | { readonly key: Key }

/** A row a link statement found: its id, and its label (e-mail or name) for the audit record. */
export interface LinkEnd<Id> {
  readonly id: Id
  readonly label: string
}

/**
 * What adding or removing a link found: each end, null when no such row exists (then nothing changed), and
 * whether a link was actually added or removed.
 */
export interface LinkChange<HolderId, HeldId> {
  readonly holder: LinkEnd<HolderId> | null
  readonly held: LinkEnd<HeldId> | null
  readonly changed: boolean
}

/** A link table: a user's roles, a role's permissions. Adding an existing link or removing an absent one changes nothing. */
export interface LinkStore<HolderId, HeldId, HolderKey, HeldKey> {
  readonly add: (
    holder: RowRef<HolderId, HolderKey>,
    held: RowRef<HeldId, HeldKey>
  ) => Effect.Effect<LinkChange<HolderId, HeldId>, StoreFailure>
  readonly remove: (
    holder: RowRef<HolderId, HolderKey>,
    held: RowRef<HeldId, HeldKey>
  ) => Effect.Effect<LinkChange<HolderId, HeldId>, StoreFailure>
}

/** What `addAll` found: the holder (null when there is none) and each held row that exists, with whether it was linked now. */
export interface LinkChanges<HolderId, HeldId> {
  readonly holder: LinkEnd<HolderId> | null
  readonly held: ReadonlyArray<LinkEnd<HeldId> & { readonly changed: boolean }>
}

/** A link table that can also link one holder to many rows in one write. */
export interface BulkLinkStore<HolderId, HeldId, HolderKey, HeldKey>
  extends LinkStore<HolderId, HeldId, HolderKey, HeldKey> {
  /** Links the holder to each of `heldIds` it is not linked to yet. */
  readonly addAll: (
    holderId: HolderId,
    heldIds: Arr.NonEmptyReadonlyArray<HeldId>
  ) => Effect.Effect<LinkChanges<HolderId, HeldId>, StoreFailure>
}

/** A row as `insertOrGetAll` left it: inserted now (`created`) or found. */
export interface Ensured<Row> {
  readonly row: Row
  readonly created: boolean
}

/** An updated row as it was before and after the update (read and written in one step). */
export interface Changed<Row> {
  readonly before: Row
  readonly after: Row
}

/** At most `limit` rows after the key `after` (from the start when undefined), in key order. */
export interface PageQuery<Key> {
  readonly after: Key | undefined
  readonly limit: number
}

/** A table of rows with a unique name: `roles`, `permissions`. */
export interface NamedRowStore<Row, Insert, Id, Name, Query extends PageQuery<Name>> {
  readonly insert: (row: Insert) => Effect.Effect<Row, KeyTaken | StoreFailure>
  /**
   * For each of `rows` (distinct names), the row of its name, inserted as given when there is none; an
   * existing one is returned unchanged. In the order of `rows`.
   */
  readonly insertOrGetAll: (
    rows: Arr.NonEmptyReadonlyArray<Insert>
  ) => Effect.Effect<ReadonlyArray<Ensured<Row>>, StoreFailure>
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
  readonly update: (
    id: UserId,
    patch: UserPatchFields
  ) => Effect.Effect<Option.Option<Changed<User>>, KeyTaken | StoreFailure>
  /** The deleted user; its role links go with it. */
  readonly delete: (id: UserId) => Effect.Effect<Option.Option<User>, StoreFailure>
  readonly roles: LinkStore<UserId, RoleId, Email, RoleName>
  /** By role name; `None` when there is no such user. */
  readonly rolesOf: (id: UserId) => Effect.Effect<Option.Option<ReadonlyArray<Role>>, StoreFailure>
  /** Distinct, by permission name; `None` when there is no such user. */
  readonly permissionsOf: (id: UserId) => Effect.Effect<Option.Option<ReadonlyArray<Permission>>, StoreFailure>
  readonly hasPermission: (id: UserId, permission: PermissionName) => Effect.Effect<boolean, StoreFailure>
  /**
   * `hasPermission`'s answer when the store can give it without running anything (a permission cache's hit) for
   * a fiber with `context`, else `undefined`. Takes the arguments unchecked: an id is found only as `hasPermission`
   * takes it (checked, lower-case), a name only when valid (`false` says nothing of a name's form). Absent when
   * the store never can: then every check runs.
   */
  readonly keptPermission?:
    | ((id: string, permission: string, context: Context.Context<never>) => boolean | undefined)
    | undefined
  /** Roles by name, each with its permissions by name. */
  readonly findWithAccess: (id: UserId) => Effect.Effect<Option.Option<UserWithAccess>, StoreFailure>
}

export interface RoleStore extends NamedRowStore<Role, typeof Role.insert.Type, RoleId, RoleName, PageQuery<RoleName>> {
  /** Sets the given columns (at least one); `None` when there is no such role. */
  readonly update: (
    id: RoleId,
    patch: RolePatchFields
  ) => Effect.Effect<Option.Option<Changed<Role>>, KeyTaken | StoreFailure>
  readonly permissions: BulkLinkStore<RoleId, PermissionId, RoleName, PermissionName>
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
