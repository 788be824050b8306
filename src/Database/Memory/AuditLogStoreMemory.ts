import { DateTime, Effect, HashMap, Option } from "effect"
import { AuditLog, type AuditMetadata, type UserId } from "../../Domain/index.ts"
import type { AuditKey, AuditLogStore } from "../Front/RepositoryStore.ts"
import { compareText } from "./MemoryRelations.ts"
import type { MemoryStore } from "./MemoryStore.ts"

// What jsonb keeps: a copy the caller cannot mutate afterwards, without `undefined` members. (jsonb also
// reorders keys, which no comparison of parsed objects can observe.)
const asJsonb = (metadata: AuditMetadata): AuditMetadata => JSON.parse(JSON.stringify(metadata))

// The cursor key of PostgreSQL: microseconds since the epoch, though memory timestamps only have milliseconds.
const keyOf = (log: AuditLog): AuditKey => [String(BigInt(DateTime.toEpochMillis(log.timestamp)) * 1000n), log.id]

// Newest first: "timestamp" DESC, id DESC.
const compareKeys = (left: AuditKey, right: AuditKey): number => {
  const byTime = BigInt(left[0]) - BigInt(right[0])
  return byTime !== 0n ? (byTime > 0n ? 1 : -1) : compareText(left[1], right[1])
}

/** `audit_logs` in the `MemoryStore`. */
export const makeAuditLogStoreMemory = (store: MemoryStore["Service"]): AuditLogStore => ({
  // Stamped with the transaction's start time, as `DEFAULT now()` does.
  insert: (rows) =>
    store.update(
      Effect.fnUntraced(function* (tables) {
        const timestamp = yield* store.transactionTime
        const logs = rows.map(
          (row) =>
            new AuditLog({
              ...row,
              // A uuid column gives ids back in lower case, whatever the case they were written in.
              actorId: Option.map(row.actorId, (id) => id.toLowerCase() as UserId),
              metadata: asJsonb(row.metadata),
              timestamp
            })
        )
        const auditLogs = logs.reduce((map, log) => HashMap.set(map, log.id, log), tables.auditLogs)
        return [logs, { ...tables, auditLogs }] as const
      })
    ),
  findById: (id) => Effect.map(store.read, (tables) => HashMap.get(tables.auditLogs, id)),
  list: (query) =>
    Effect.map(store.read, (tables) => {
      const from = query.from === undefined ? undefined : DateTime.toEpochMillis(query.from)
      const to = query.to === undefined ? undefined : DateTime.toEpochMillis(query.to)
      return [...HashMap.values(tables.auditLogs)]
        .map((log) => [log, keyOf(log)] as const)
        .filter(([log, key]) => {
          const at = DateTime.toEpochMillis(log.timestamp)
          return (
            (query.after === undefined || compareKeys(key, query.after) < 0) &&
            (query.actorId === undefined || Option.getOrUndefined(log.actorId) === query.actorId) &&
            (query.targetId === undefined || Option.getOrUndefined(log.targetId) === query.targetId) &&
            (query.action === undefined || log.action === query.action) &&
            (from === undefined || at >= from) &&
            (to === undefined || at < to)
          )
        })
        .sort(([, left], [, right]) => compareKeys(right, left))
        .slice(0, query.limit)
    })
})
