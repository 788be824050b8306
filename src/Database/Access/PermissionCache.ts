import { randomBytes } from "node:crypto"
import { PgClient, PgConnection } from "@effect/sql-pg"
import { Context, Data, Deferred, Duration, Effect, Fiber, Layer, Metric, Option, Queue, Redacted } from "effect"
import { type SqlClient, SqlError } from "effect/sql"
import { AppConfig } from "../../Config/AppConfig.ts"
import type { ConfigLoadError } from "../../Config/ConfigError.ts"
import type { PermissionName, UserId } from "../../Domain/index.ts"
import { DatabaseTarget } from "../Client/DatabaseTarget.ts"
import { describeSqlError } from "../Client/SqlFailure.ts"
import type { StoreFailure } from "../Front/RepositoryStore.ts"
import { DatabaseMigrations } from "../Migrations/DatabaseMigrations.ts"
import { ReadReplicas } from "../Topology/ReadReplicas.ts"
import { ACCESS_VERSION_CHANNEL, CURRENT_VERSION_SQL, makeAccessVersionPg } from "./AccessVersionPg.ts"

/** What the permission cache is doing: for probes, metrics and tests. */
export interface PermissionCacheStatus {
  /** Configured on (`database.permissionCache.enabled`; under `database.pgbouncer` only with a `listenUrl`). */
  readonly enabled: boolean
  /**
   * The notification connection is up, has heard its own notification, and the version is known: only then are
   * answers kept and served.
   */
  readonly listening: boolean
  /** The access version the kept answers were read at. */
  readonly version: bigint | undefined
  /** How many users' permission sets are kept. */
  readonly users: number
  /** The server process of the notification connection (`pg_stat_activity.pid`), while up. */
  readonly listenerProcessId: number | undefined
}

/** Settings of `PermissionCache.layerWith`; `database.permissionCache` gives them to `PermissionCache.layer`. */
export interface PermissionCacheOptions {
  readonly enabled: boolean
  /** How many users' permission sets are kept; the oldest kept is dropped to make room. */
  readonly maxUsers: number
  /** First wait before reconnecting the notification connection, doubled at each failed attempt (default 100 ms). */
  readonly reconnectDelay?: Duration.Input | undefined
  /** Longest wait between two attempts to reconnect (default 5 seconds). */
  readonly maxReconnectDelay?: Duration.Input | undefined
  /**
   * How often the notification connection is asked for the version and proves again that it hears
   * notifications (default 500 ms). A connection that dies without a word (a half-open socket) is noticed by
   * this, not only by TCP keepalive, a version read higher than the one held drops everything even if its
   * notification was lost, and a session that no longer hears its own notification is given up.
   */
  readonly heartbeatInterval?: Duration.Input | undefined
  /**
   * Where the listening session connects, instead of where the `PgClient`'s pool does: straight to the server
   * when the pool goes through a transaction pooler (`database.permissionCache.listenUrl`). Its other
   * settings (timeouts, keepalive, application name) are the pool's.
   */
  readonly listenTarget?: DatabaseTarget["Service"]["connection"] | undefined
  /**
   * Where a miss reads the user's permission set when reads go to replicas (`ReadReplicas` under
   * `database.readFrom: replicas`); the primary when absent. A replica's answer is used only when it is at
   * least as new as what the cache knows, else the primary is read (see `make`).
   */
  readonly replicaReads?: SqlClient.SqlClient | undefined
}

const counter = (name: string, description: string) => Metric.counter(name, { description, incremental: true })

/** `hasPermission` answered from kept permission sets. */
export const cacheHits = counter("platform_kernel_permission_cache_hits", "Permission checks answered from the cache")
/** `hasPermission` answered by reading the user's permission set (then kept when provably current). */
export const cacheMisses = counter(
  "platform_kernel_permission_cache_misses",
  "Permission checks that read the user's permissions from the database"
)
/** `hasPermission` sent to the database as is: notification connection down, or inside a transaction. */
export const cacheBypasses = counter(
  "platform_kernel_permission_cache_bypasses",
  "Permission checks sent to the database because the cache could not prove itself current"
)
/** Times everything kept was dropped: a change notified or made here, or the notification connection lost. */
export const cacheInvalidations = counter(
  "platform_kernel_permission_cache_invalidations",
  "Times the permission cache dropped everything it kept"
)

/**
 * Answers `hasPermission` from each user's permission set, kept in this process only while it is provably
 * current. Every change to access data raises a version in its own transaction and notifies it
 * (migration 0005); one connection of the cache's own (not one of the pool's) listens. A set is kept only
 * when it was read at the version the cache holds and nothing was dropped while it was read, so an answer
 * read before a change can never be kept after it. While the notification connection is down every check
 * goes to the database; it reconnects with backoff (LISTEN first, then the version, then serve). Under
 * `database.readFrom: replicas` a miss reads a replica, whose answer counts only when read at the version held
 * or a newer one (else, and after a change made here until the primary has been read, the primary answers).
 */
export class PermissionCache extends Context.Service<
  PermissionCache,
  {
    /** False when off: the store then calls the database directly. */
    readonly enabled: boolean
    /** Whether `userId` holds `permission`: from the cache when it can prove it current, else from `uncached`. */
    readonly hasPermission: <E>(
      userId: UserId,
      permission: PermissionName,
      uncached: Effect.Effect<boolean, E>
    ) => Effect.Effect<boolean, E | StoreFailure>
    /**
     * The kept answer, counted as a hit, when the cache can serve one now for a fiber with `context`; else
     * `undefined`, with nothing counted (the caller then asks `hasPermission`, which reads or bypasses). Runs
     * nothing: a hit is answered within the caller's own step. The arguments need no check: a user is found
     * only under a `UserId` as `hasPermission` was given it, and `true` only for a name the user holds (`false`
     * for any other string, well-formed or not).
     */
    readonly keptAnswer: (userId: string, permission: string, context: Context.Context<never>) => boolean | undefined
    /** Drops everything kept (a change to access data committed by this process). */
    readonly invalidate: Effect.Effect<void>
    readonly status: Effect.Effect<PermissionCacheStatus>
  }
>()("platform-kernel/Database/Access/PermissionCache") {
  /** A cache that keeps nothing: every check goes to the database. */
  static readonly off: PermissionCache["Service"] = PermissionCache.of({
    enabled: false,
    hasPermission: (_userId, _permission, uncached) => uncached,
    keptAnswer: () => undefined,
    invalidate: Effect.void,
    status: Effect.succeed({
      enabled: false,
      listening: false,
      version: undefined,
      users: 0,
      listenerProcessId: undefined
    })
  })

  /**
   * The cache as `options` say, for the migrated database of the `PgClient`. Building it waits for the first
   * attempt to listen (checks go to the database until one succeeds); closing its scope stops listening and
   * closes the notification connection. Misses read the replicas when a `ReadReplicas` with replicas is
   * provided (and `options.replicaReads` names none).
   */
  static readonly layerWith = (
    options: PermissionCacheOptions
  ): Layer.Layer<PermissionCache, never, PgClient.PgClient | DatabaseMigrations> =>
    Layer.effect(
      PermissionCache,
      Effect.gen(function* () {
        yield* DatabaseMigrations
        if (!options.enabled) return PermissionCache.off
        // Only a pool on replicas (a target): without one, `ReadReplicas.sql` is the primary itself.
        const replicas = Option.filter(yield* Effect.serviceOption(ReadReplicas), (r) => r.target !== undefined)
        const replicaReads = options.replicaReads ?? (Option.isSome(replicas) ? replicas.value.sql : undefined)
        return yield* make(yield* PgClient.PgClient, { ...options, replicaReads })
      })
    )

  /**
   * The cache as `database.permissionCache` says, listening at `listenUrl` when set. Off under
   * `database.pgbouncer` without a `listenUrl` (transaction pooling cannot keep a session listening), with a
   * log line saying so. Fails when the `listenUrl`'s root certificate file cannot be read.
   */
  static readonly layer: Layer.Layer<
    PermissionCache,
    ConfigLoadError,
    PgClient.PgClient | DatabaseMigrations | AppConfig
  > = Layer.unwrap(
    Effect.gen(function* () {
      const { database } = yield* AppConfig
      const { enabled, maxUsers, listenUrl } = database.permissionCache
      const direct = Redacted.value(listenUrl) !== ""
      if (enabled && database.pgbouncer && !direct) {
        yield* Effect.logInfo(
          "permission cache off: database.pgbouncer is true, and PgBouncer in transaction mode cannot keep the LISTEN session that proves the cache current; set database.permissionCache.listenUrl to the server itself to have it; every permission check asks the database"
        )
      }
      // Read as database.url is, with its TLS settings as defaults (checked when the configuration loaded).
      const listenTarget =
        enabled && direct ? yield* DatabaseTarget.fromConfig({ ...database, url: listenUrl }) : undefined
      return PermissionCache.layerWith({
        enabled: enabled && (direct || !database.pgbouncer),
        maxUsers,
        listenTarget: listenTarget?.connection
      })
    })
  )
}

/** Appended to `database.applicationName` for the cache's listening session. */
export const LISTENER_SUFFIX = "-permission-cache"

/**
 * How the payload of a cache's own test notification starts: never a version, so every cache tells it from a
 * change (and ignores the other caches' ones).
 */
export const PROBE_PREFIX = "probe:"

// Where the pool connects: replaced as a whole by a listen target (its own URL, TLS and socket factory).
const ENDPOINT_KEYS = ["url", "host", "port", "database", "username", "password", "ssl", "stream"] as const

/** The driver settings of the listening session: the pool's, at `listenTarget` when given. */
const listenerConfig = (
  pool: PgClient.PgClient["config"],
  applicationName: string,
  listenTarget: PermissionCacheOptions["listenTarget"]
): PgConnection.Config => {
  if (listenTarget === undefined) return { ...pool, applicationName }
  const settings: Record<string, unknown> = { ...pool }
  for (const key of ENDPOINT_KEYS) delete settings[key]
  return { ...(settings as PgConnection.Config), ...listenTarget, applicationName }
}

const make = Effect.fnUntraced(function* (pg: PgClient.PgClient, options: PermissionCacheOptions) {
  const statements = makeAccessVersionPg(pg)
  const replicaStatements = options.replicaReads === undefined ? undefined : makeAccessVersionPg(options.replicaReads)
  const firstReconnectDelay = Duration.fromInputUnsafe(options.reconnectDelay ?? "100 millis")
  const heartbeatInterval = Duration.fromInputUnsafe(options.heartbeatInterval ?? "500 millis")
  // A heartbeat that has not answered within two intervals ends the session; the cache stops serving after
  // three without an answer, whatever the session is doing meanwhile.
  const heartbeatTimeout = Duration.times(heartbeatInterval, 2)
  const provenFor = Duration.toMillis(heartbeatInterval) * 3
  const maxReconnectDelay = Duration.fromInputUnsafe(options.maxReconnectDelay ?? "5 seconds")
  // Plain mutable state: each read and update below runs without yielding, so none sees a half-done change.
  const state = {
    listening: false,
    version: undefined as bigint | undefined,
    // Raised when something other than a newer version makes the kept sets unusable (a change committed here,
    // the notification connection lost): a read that began before cannot be kept after. A newer version
    // needs no such guard: a read is kept only at the version held when it ends.
    generation: 0,
    users: new Map<UserId, ReadonlySet<string>>(),
    listenerProcessId: undefined as number | undefined,
    // When the latest test notification the session heard was sent (performance.now()): every change committed
    // before then has been taken in. Served only while recent.
    provenAt: 0,
    // A change committed here whose version is not known yet (its notification may still be on its way): until a
    // primary read started after it ends, a replica at the version held may predate it, so misses read the primary.
    changedHere: false
  }
  // Every change of state is one synchronous step (no yield inside), so no fiber sees a half-done change.
  const countInvalidation = Metric.update(cacheInvalidations, 1)
  const dropAll = () => {
    state.users.clear()
  }
  const invalidate = Effect.suspend(() => {
    state.generation++
    state.changedHere = true
    dropAll()
    return countInvalidation
  })
  const keep = (userId: UserId, names: ReadonlySet<string>) => {
    if (state.users.size >= options.maxUsers && !state.users.has(userId)) {
      // A Map iterates in insertion order: the first key is the oldest kept.
      const oldest = state.users.keys().next()
      if (oldest.done !== true) state.users.delete(oldest.value)
    }
    state.users.set(userId, names)
  }

  // A replica's set (and version, one snapshot) when it is at least at the version the cache holds, which is
  // every change notified or read on the primary so far; else the primary's. The replica client itself waits
  // for the caller's read-your-writes position (bounded) or reads the primary.
  const readSet = Effect.fnUntraced(function* (userId: UserId) {
    const known = state.version
    if (replicaStatements === undefined || state.changedHere || known === undefined) {
      return { read: yield* statements.permissionSet(userId), fromPrimary: true }
    }
    const replica = yield* replicaStatements.permissionSet(userId)
    if (replica.version >= known) return { read: replica, fromPrimary: false }
    return { read: yield* statements.permissionSet(userId), fromPrimary: true }
  })

  const load = Effect.fnUntraced(function* (userId: UserId, permission: PermissionName) {
    const generation = state.generation
    yield* Metric.update(cacheMisses, 1)
    const { read, fromPrimary } = yield* readSet(userId)
    const names = new Set(read.names)
    if (state.listening && state.generation === generation && state.version !== undefined) {
      // Begun after every change committed here so far: the version held from now on covers them.
      if (fromPrimary && read.version >= state.version) state.changedHere = false
      if (read.version === state.version) {
        keep(userId, names)
      } else if (read.version > state.version) {
        // Read outside any transaction, so committed: the database moved on and its notification is on its
        // way. What is kept is older; drop it and hold the newer version now.
        dropAll()
        state.version = read.version
        keep(userId, names)
        yield* countInvalidation
      }
    }
    return names.has(permission)
  })

  // Inside a transaction a read may see the transaction's own uncommitted changes: never keep it, never serve it.
  const serving = (context: Context.Context<never>) =>
    state.listening &&
    performance.now() - state.provenAt <= provenFor &&
    Context.getOrUndefined(context, pg.transactionService) === undefined

  // The hot path of the platform: a hit is one Map lookup and one counter, with no effect built for either.
  const keptAnswer = (userId: string, permission: string, context: Context.Context<never>) => {
    if (!serving(context)) return undefined
    const kept = state.users.get(userId as UserId)
    if (kept === undefined) return undefined
    cacheHits.updateUnsafe(1, context)
    return kept.has(permission)
  }

  const allowed = Effect.succeed(true)
  const denied = Effect.succeed(false)
  const hasPermission = <E>(
    userId: UserId,
    permission: PermissionName,
    uncached: Effect.Effect<boolean, E>
  ): Effect.Effect<boolean, E | StoreFailure> =>
    Effect.withFiber((fiber): Effect.Effect<boolean, E | StoreFailure> => {
      if (!serving(fiber.context)) {
        cacheBypasses.updateUnsafe(1, fiber.context)
        return uncached
      }
      const kept = state.users.get(userId)
      if (kept === undefined) return load(userId, permission)
      cacheHits.updateUnsafe(1, fiber.context)
      return kept.has(permission) ? allowed : denied
    })

  const onNotification = (payload: string) =>
    Effect.suspend(() => {
      const version = parseVersion(payload)
      if (version === undefined) return invalidate
      if (state.version !== undefined && version <= state.version) return Effect.void
      state.version = version
      dropAll()
      return countInvalidation
    })

  const markDown = Effect.suspend(() => {
    state.listening = false
    state.listenerProcessId = undefined
    state.generation++
    dropAll()
    return countInvalidation
  })

  // Told apart from the pool's sessions in pg_stat_activity (and not counted as one of them).
  const listenerName = `${pg.config.applicationName ?? "platform-kernel"}${LISTENER_SUFFIX}`
  const listenConfig = listenerConfig(pg.config, listenerName, options.listenTarget)
  const firstAttempt = yield* Deferred.make<void>()
  let connectedOnce = false

  // This cache's test notifications: its own prefix among every instance's, and the one it waits for now.
  const probePrefix = `${PROBE_PREFIX}${randomBytes(9).toString("base64url")}:`
  let probeCount = 0
  let awaitedProbe: { readonly payload: string; readonly heard: Deferred.Deferred<void> } | undefined

  const onPayload = (payload: string): Effect.Effect<void> => {
    if (!payload.startsWith(PROBE_PREFIX)) return onNotification(payload)
    // Another instance's test (or one of ours given up on) says nothing about access data.
    if (awaitedProbe === undefined || payload !== awaitedProbe.payload) return Effect.void
    return Effect.asVoid(Deferred.succeed(awaitedProbe.heard, undefined))
  }

  // Sent from the pool, never from the listening session: through a transaction pooler that session's own
  // NOTIFY may run on the very server session that ran its LISTEN and be heard, proving nothing. Notifications
  // are delivered in commit order, so once the probe is heard every change committed before it was taken in.
  // Returns when it was sent, or fails with `NotificationNotHeard`; `undefined` when it could not be sent
  // within `heartbeatTimeout` (the pool busy): nothing is proven then, and nothing held against the session.
  const probe = Effect.gen(function* () {
    const heard = yield* Deferred.make<void>()
    const payload = `${probePrefix}${++probeCount}`
    awaitedProbe = { payload, heard }
    const sentAt = performance.now()
    const sent = yield* pg
      .notify(ACCESS_VERSION_CHANNEL, payload)
      .pipe(Effect.as(true), Effect.timeoutOrElse({ duration: heartbeatTimeout, orElse: () => Effect.succeed(false) }))
    if (!sent) return undefined
    yield* Deferred.await(heard).pipe(
      Effect.timeoutOrElse({
        duration: heartbeatTimeout,
        orElse: () => Effect.fail(new NotificationNotHeard({ within: heartbeatTimeout }))
      })
    )
    return sentAt
  }).pipe(
    Effect.ensuring(
      Effect.sync(() => {
        awaitedProbe = undefined
      })
    )
  )

  // One session: its own connection (a pool's reserved one would be taken from the callers for good). LISTEN
  // confirmed, then its own notification heard, then the version read, then serve: no change committed after
  // the read can go unnoticed, and a session that cannot hear (LISTEN through a transaction pooler is
  // accepted and never delivers) never serves.
  const listenOnce = Effect.scoped(
    Effect.gen(function* () {
      // Versions seen by an earlier session say nothing about the server this one reached.
      state.version = undefined
      const connection = yield* PgConnection.make(listenConfig)
      // Pinned, so the heartbeat's queries run on the listening session itself (unpinned ones would wait).
      const session = yield* connection.pin
      const notifications = yield* session.listen(ACCESS_VERSION_CHANNEL)
      yield* Effect.addFinalizer(() => markDown)
      // Notifications are taken in from now on (versions before serving only raise the version held), so the
      // probe can be heard; a lost connection fails the queue, which ends the session.
      const notified = yield* Effect.forkScoped(
        Effect.forever(Effect.flatMap(Queue.take(notifications), (notification) => onPayload(notification.payload)))
      )
      const serving = Effect.gen(function* () {
        const firstProof = yield* probe
        if (firstProof === undefined) return yield* new NotificationNotSent({ within: heartbeatTimeout })
        const version = yield* statements.currentVersion
        state.generation++
        dropAll()
        // A notification taken in meanwhile may carry a newer version than the read.
        if (state.version === undefined || version > state.version) state.version = version
        state.listenerProcessId = connection.processId
        state.listening = true
        state.provenAt = firstProof
        connectedOnce = true
        yield* Effect.logDebug("permission cache listening").pipe(
          Effect.annotateLogs({ version: String(state.version) })
        )
        yield* Deferred.succeed(firstAttempt, undefined)
        // Each beat reads the version on the listening session: an answer proves it alive, and a higher version
        // (its notification lost) is taken like a notification; no answer in time ends the session. Then the
        // session proves again that it hears: not hearing its own notification ends it too.
        return yield* Effect.forever(
          Effect.gen(function* () {
            yield* Effect.sleep(heartbeatInterval)
            const result = yield* session.query(CURRENT_VERSION_SQL, [], true).pipe(
              Effect.timeoutOrElse({
                duration: heartbeatTimeout,
                orElse: () => Effect.fail(new HeartbeatTimedOut())
              })
            )
            yield* onNotification(String(result.rows[0]?.version))
            const proven = yield* probe
            if (proven !== undefined) state.provenAt = proven
          })
        )
      })
      return yield* Effect.raceFirst(Fiber.join(notified), serving)
    })
  )

  const listenForever = Effect.gen(function* () {
    let delay = firstReconnectDelay
    // A session that cannot hear (a pooler in the way) will not hear on the next attempt either: one warning
    // says so, and the attempts after it are logged at debug level until a session serves again.
    let warnedNotHeard = false
    while (true) {
      connectedOnce = false
      const failure = yield* Effect.flip(listenOnce)
      yield* markDown
      yield* Deferred.succeed(firstAttempt, undefined)
      // After a connection that served, start again from the shortest wait; else wait longer each time.
      const wait = connectedOnce ? firstReconnectDelay : delay
      delay = Duration.min(Duration.times(wait, 2), maxReconnectDelay)
      const notHeard = failure instanceof NotificationNotHeard
      if (connectedOnce) warnedNotHeard = false
      const log = notHeard && warnedNotHeard ? Effect.logDebug : Effect.logWarning
      if (notHeard) warnedNotHeard = true
      yield* log(
        notHeard
          ? "permission cache bypassed: its listening session does not hear notifications; every permission check asks the database"
          : "permission cache bypassed: its notification connection failed; every permission check asks the database until it reconnects"
      ).pipe(
        Effect.annotateLogs({
          reason: SqlError.isSqlError(failure) ? describeSqlError(failure) : failure.message,
          retryIn: Duration.format(wait)
        })
      )
      yield* Effect.sleep(wait)
    }
  })

  yield* Effect.forkScoped(listenForever)
  yield* Deferred.await(firstAttempt)

  return PermissionCache.of({
    enabled: true,
    hasPermission,
    keptAnswer,
    invalidate,
    status: Effect.sync(() => ({
      enabled: true,
      listening: state.listening,
      version: state.version,
      users: state.users.size,
      listenerProcessId: state.listenerProcessId
    }))
  })
})

/** The notification connection did not answer its heartbeat in time. */
class HeartbeatTimedOut extends Data.TaggedError("HeartbeatTimedOut") {
  override get message() {
    return "the notification connection did not answer its heartbeat in time"
  }
}

/** The listening session did not hear the notification the cache sent itself after it was committed. */
class NotificationNotHeard extends Data.TaggedError("NotificationNotHeard")<{ readonly within: Duration.Duration }> {
  override get message() {
    return `its own notification was not heard within ${Duration.format(this.within)} of its commit: a transaction pooler between the session and the server? (database.permissionCache.listenUrl names the server itself)`
  }
}

/** The first test notification could not be sent through the pool in time. */
class NotificationNotSent extends Data.TaggedError("NotificationNotSent")<{ readonly within: Duration.Duration }> {
  override get message() {
    return `its first test notification could not be sent through the pool within ${Duration.format(this.within)}`
  }
}

const parseVersion = (payload: string): bigint | undefined => {
  try {
    return BigInt(payload)
  } catch {
    return undefined
  }
}
