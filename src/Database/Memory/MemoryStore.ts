import { Clock, Context, DateTime, Effect, Exit, HashMap, Layer, Semaphore } from "effect"
import type { AuditLog, AuditLogId, Permission, PermissionId, Role, RoleId, User, UserId } from "../../Domain/index.ts"
import type { MemoryEntityTable } from "../Entity/MemoryEntityTables.ts"
import { type AuditLogIndex, emptyAuditLogIndex } from "./AuditLogIndex.ts"

/** A row of `user_roles`. */
export interface UserRoleRow {
  readonly userId: UserId
  readonly roleId: RoleId
  readonly createdAt: DateTime.Utc
}

/** A row of `role_permissions`. */
export interface RolePermissionRow {
  readonly roleId: RoleId
  readonly permissionId: PermissionId
  readonly createdAt: DateTime.Utc
}

/**
 * One consistent version of every table. Never mutated (persistent maps), so taking a snapshot is keeping a
 * reference and rolling back is dropping one.
 */
export interface MemoryTables {
  readonly users: HashMap.HashMap<UserId, User>
  readonly roles: HashMap.HashMap<RoleId, Role>
  readonly permissions: HashMap.HashMap<PermissionId, Permission>
  /** Keyed by `linkKey(userId, roleId)`, the primary key of `user_roles`. */
  readonly userRoles: HashMap.HashMap<string, UserRoleRow>
  /** Keyed by `linkKey(roleId, permissionId)`, the primary key of `role_permissions`. */
  readonly rolePermissions: HashMap.HashMap<string, RolePermissionRow>
  readonly auditLogs: HashMap.HashMap<AuditLogId, AuditLog>
  /** The rows of `auditLogs` in keyset order, for pages without sorting (written with it, never alone). */
  readonly auditLogOrder: AuditLogIndex
  /** The tables of the service's declared entities (Entity/), by qualified table name. */
  readonly entities: ReadonlyMap<string, MemoryEntityTable>
}

export const emptyTables: MemoryTables = {
  users: HashMap.empty(),
  roles: HashMap.empty(),
  permissions: HashMap.empty(),
  userRoles: HashMap.empty(),
  rolePermissions: HashMap.empty(),
  auditLogs: HashMap.empty(),
  auditLogOrder: emptyAuditLogIndex,
  entities: new Map()
}

/** The composite primary key of a link table. UUIDs contain no "/", so the key is unambiguous. */
export const linkKey = (left: string, right: string): string => `${left}/${right}`

/**
 * A level of transaction: its working copy of the tables, the lock its nested levels take, and its start
 * time. The store's root frame holds the committed tables.
 */
interface Frame {
  state: MemoryTables
  readonly lock: Semaphore.Semaphore
  readonly startedAt: DateTime.Utc | undefined
}

// Fiber-local (inherited by forked children, like a transaction's connection): the innermost open frame of
// each store. Keyed by the store's root frame, so two stores in one program never see each other's frames.
const OpenFrames = Context.Reference<ReadonlyMap<Frame, Frame>>("platform-kernel/Database/Memory/OpenFrames", {
  defaultValue: () => new Map()
})

/**
 * The in-memory database shared by the memory repositories: every table in one immutable value, so links,
 * cascades and audit records change together, and a transaction is a working copy that replaces its
 * parent's tables on success and is dropped on a failure, a defect or an interruption.
 *
 * Concurrency: every transaction (and every write, which is one) takes the lock of the level it opens in,
 * so writes are serialised against each other, and a nested level only waits for its siblings, never for
 * its own ancestors. Reads take no lock and see the committed tables, or the caller's open transaction:
 * like READ COMMITTED, uncommitted writes of other fibers are never visible.
 *
 * Unlike PostgreSQL, which locks rows, one lock covers the whole store: a write waits for every open
 * transaction, even one on unrelated rows. So a transaction that waits for a write made outside it (by a
 * fiber not forked from it) never ends here, where PostgreSQL would go on. Fibers forked inside a
 * transaction join it, as they share its connection in PostgreSQL.
 */
export class MemoryStore extends Context.Service<
  MemoryStore,
  {
    /** The tables as the calling fiber sees them: its open transaction's, else the committed ones. */
    readonly read: Effect.Effect<MemoryTables>
    /** PostgreSQL's `now()`: the start time of the caller's outermost transaction, else the current time. */
    readonly transactionTime: Effect.Effect<DateTime.Utc>
    /**
     * Runs `effect` as a transaction, or as a savepoint when one is already open: its writes are kept when
     * it succeeds and discarded otherwise.
     */
    readonly transaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
    /** An atomic read-modify-write: `f` gets the current tables and returns a result with the new tables. */
    readonly update: <A, E, R>(
      f: (tables: MemoryTables) => Effect.Effect<readonly [A, MemoryTables], E, R>
    ) => Effect.Effect<A, E, R>
  }
>()("platform-kernel/Database/Memory/MemoryStore") {
  /** A fresh, empty store. */
  static readonly layer = Layer.effect(
    MemoryStore,
    Effect.sync(() => makeMemoryStore())
  )
}

/** A store holding `initial` as its committed tables. */
export const makeMemoryStore = (initial: MemoryTables = emptyTables): MemoryStore["Service"] => {
  const root: Frame = { state: initial, lock: Semaphore.makeUnsafe(1), startedAt: undefined }

  const currentFrame = Effect.map(Effect.service(OpenFrames), (frames) => frames.get(root) ?? root)

  const read = Effect.map(currentFrame, (frame) => frame.state)

  const transactionTime = Effect.flatMap(currentFrame, (frame) =>
    frame.startedAt === undefined ? DateTime.now : Effect.succeed(frame.startedAt)
  )

  const transaction = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.flatMap(currentFrame, (parent) =>
      parent.lock.withPermit(
        Effect.flatMap(Clock.currentTimeMillis, (millis) => {
          // Copied after the lock is taken, so no sibling can commit in between.
          const frame: Frame = {
            state: parent.state,
            lock: Semaphore.makeUnsafe(1),
            startedAt: parent.startedAt ?? DateTime.makeUnsafe(millis)
          }
          return effect.pipe(
            Effect.updateService(OpenFrames, (frames) => new Map(frames).set(root, frame)),
            // Runs before the permit is released and cannot be interrupted: commit exactly on success.
            Effect.onExit((exit) =>
              Exit.isSuccess(exit)
                ? Effect.sync(() => {
                    parent.state = frame.state
                  })
                : Effect.void
            )
          )
        })
      )
    )

  const update = <A, E, R>(
    f: (tables: MemoryTables) => Effect.Effect<readonly [A, MemoryTables], E, R>
  ): Effect.Effect<A, E, R> =>
    transaction(
      Effect.flatMap(currentFrame, (frame) =>
        Effect.map(f(frame.state), ([result, tables]) => {
          frame.state = tables
          return result
        })
      )
    )

  return MemoryStore.of({ read, transactionTime, transaction, update })
}
