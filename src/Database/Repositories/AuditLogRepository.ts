import { Context, type DateTime, type Effect, type Stream } from "effect"
import type {
  AuditLog,
  AuditLogId,
  AuditLogNotFound,
  DatabaseUnavailable,
  InvalidInput,
  Page,
  UserId
} from "../../Domain/index.ts"
import type { ListRequest } from "./UserRepository.ts"

/** A record to append: its action, target and metadata (the actor comes from `CurrentActor`). */
export interface AppendAuditLog {
  /** Dotted lower-case, e.g. `user.created`. */
  readonly action: string
  readonly targetId?: string | undefined
  /**
   * A JSON object of at most 16 KiB, nested at most 32 levels; its keys and strings must be valid Unicode
   * without NUL (PostgreSQL would not store them as given).
   */
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
  /** Defaults (when absent or undefined) to the `CurrentActor` of the calling fiber (none: the system). */
  readonly actorId?: UserId | null | undefined
}

/** Filters and paging of `AuditLogRepository.list`: newest first. */
export interface ListAuditLogs extends ListRequest {
  readonly actorId?: UserId | undefined
  readonly targetId?: string | undefined
  /** E.g. one of `AuditActions`; decode what the repositories record with `decodeAuditEvent`. */
  readonly action?: string | undefined
  /** Inclusive lower bound of `timestamp`; no earlier than 4714-11-24 BC, PostgreSQL's first timestamp. */
  readonly from?: DateTime.DateTime | undefined
  /** Exclusive upper bound of `timestamp`; no earlier than 4714-11-24 BC, PostgreSQL's first timestamp. */
  readonly to?: DateTime.DateTime | undefined
}

/** The append-only audit trail: no update, no delete. */
export class AuditLogRepository extends Context.Service<
  AuditLogRepository,
  {
    /**
     * Committed when it succeeds. Outside a transaction, concurrent appends are committed together (one
     * statement per turn of a single writer, each caller with its own row or error); inside
     * `Transactions.withTransaction` the append is part of the transaction. A caller interrupted while its
     * entry waits for the writer stops waiting, but the entry may still be committed.
     */
    readonly append: (entry: AppendAuditLog) => Effect.Effect<AuditLog, InvalidInput | DatabaseUnavailable>
    /** All or nothing, in one round trip; every entry is validated before anything is written. */
    readonly appendMany: (
      entries: ReadonlyArray<AppendAuditLog>
    ) => Effect.Effect<ReadonlyArray<AuditLog>, InvalidInput | DatabaseUnavailable>
    /** An id that is a string but no audit log id names nothing; one that is not a string is `InvalidInput`. */
    readonly findById: (
      id: AuditLogId
    ) => Effect.Effect<AuditLog, AuditLogNotFound | InvalidInput | DatabaseUnavailable>
    /** Newest first, keyset-paginated, filtered by actor, target, action and time range. */
    readonly list: (filter?: ListAuditLogs) => Effect.Effect<Page<AuditLog>, InvalidInput | DatabaseUnavailable>
    /** Every record `filter` selects, in `list` order, fetched one page at a time as the stream is consumed. */
    readonly stream: (filter?: ListAuditLogs) => Stream.Stream<AuditLog, InvalidInput | DatabaseUnavailable>
  }
>()("platform-kernel/Database/AuditLogRepository") {}
