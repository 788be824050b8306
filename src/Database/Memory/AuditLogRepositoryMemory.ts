import { DateTime, Effect, HashMap, Option } from "effect"
import { type AuditLog, type AuditLogId, pageFromRows } from "../../Domain/index.ts"
import type { AppendAuditLog, AuditLogRepository, ListAuditLogs } from "../Repositories/AuditLogRepository.ts"
import {
  type AuditEntry,
  auditCursor,
  auditLogNotFound,
  decodeAuditEntries,
  decodeAuditEntry,
  decodeListAuditLogs,
  orEmpty,
  validAuditLogId
} from "../Repositories/RepositoryInputs.ts"
import { insertAuditLogs, makeAuditLog } from "./MemoryAudit.ts"
import { compareText } from "./MemoryRelations.ts"
import { MemoryStore } from "./MemoryStore.ts"

// The cursor keys of the PostgreSQL layer: microseconds since the epoch, though memory timestamps only
// have milliseconds.
const microsecondsOf = (log: AuditLog): bigint => BigInt(DateTime.toEpochMillis(log.timestamp)) * 1000n

// Newest first: "timestamp" DESC, id DESC.
const newestFirst = (left: AuditLog, right: AuditLog): number => {
  const byTime = microsecondsOf(right) - microsecondsOf(left)
  return byTime !== 0n ? (byTime > 0n ? 1 : -1) : compareText(right.id, left.id)
}

/** `AuditLogRepository` on the `MemoryStore`, with the behaviour of `AuditLogRepositoryPg`. */
export const makeAuditLogRepositoryMemory: Effect.Effect<AuditLogRepository["Service"], never, MemoryStore> =
  Effect.gen(function* () {
    const store = yield* MemoryStore

    // Validated entries become rows; the actor defaults to the calling fiber's CurrentActor.
    const toLog = (entry: typeof AuditEntry.Type) =>
      makeAuditLog(store, {
        action: entry.action,
        targetId: Option.fromUndefinedOr(entry.targetId),
        metadata: entry.metadata ?? {},
        actorId: entry.actorId === undefined ? undefined : Option.fromNullishOr(entry.actorId)
      })

    const insert = (entries: ReadonlyArray<typeof AuditEntry.Type>) =>
      store.update((tables) =>
        Effect.map(Effect.forEach(entries, toLog), (logs) => [logs, insertAuditLogs(tables, logs)] as const)
      )

    const append = Effect.fn("AuditLogRepository.append")(function* (entry: AppendAuditLog) {
      const [log] = yield* insert([yield* decodeAuditEntry(entry)])
      return log!
    })

    const appendMany = Effect.fn("AuditLogRepository.appendMany")(function* (entries: ReadonlyArray<AppendAuditLog>) {
      const valid = yield* decodeAuditEntries({ entries })
      if (valid.entries.length === 0) return []
      return yield* insert(valid.entries)
    })

    const findById = Effect.fn("AuditLogRepository.findById")(function* (id: AuditLogId) {
      const logId = validAuditLogId(id)
      if (Option.isNone(logId)) return yield* auditLogNotFound(id)
      const log = HashMap.get((yield* store.read).auditLogs, logId.value)
      if (Option.isNone(log)) return yield* auditLogNotFound(logId.value)
      return log.value
    })

    const list = Effect.fn("AuditLogRepository.list")(function* (filter?: ListAuditLogs) {
      const request = yield* decodeListAuditLogs(orEmpty(filter))
      const after = request.cursor === undefined ? undefined : yield* auditCursor.decode(request.cursor)
      const afterTime = after === undefined ? 0n : BigInt(after[0])
      const afterId = after?.[1].toLowerCase()
      // uuid columns compare regardless of case; stored ids are lower-case.
      const actorId = request.actorId?.toLowerCase()
      const from = request.from === undefined ? undefined : DateTime.toEpochMillis(request.from)
      const to = request.to === undefined ? undefined : DateTime.toEpochMillis(request.to)
      const rows = [...HashMap.values((yield* store.read).auditLogs)]
        .filter((log) => {
          const at = DateTime.toEpochMillis(log.timestamp)
          // The keyset: ("timestamp", id) < (cursor time, cursor id).
          if (afterId !== undefined) {
            const time = microsecondsOf(log)
            if (time > afterTime || (time === afterTime && compareText(log.id, afterId) >= 0)) return false
          }
          if (actorId !== undefined && Option.getOrUndefined(log.actorId) !== actorId) return false
          if (request.targetId !== undefined && Option.getOrUndefined(log.targetId) !== request.targetId) return false
          if (request.action !== undefined && log.action !== request.action) return false
          if (from !== undefined && at < from) return false
          if (to !== undefined && at >= to) return false
          return true
        })
        .sort(newestFirst)
        .slice(0, request.limit + 1)
      return pageFromRows(rows, request.limit, (log) => [microsecondsOf(log).toString(), log.id] as const, auditCursor)
    })

    return { append, appendMany, findById, list }
  })
