import { Effect, HashMap, Option } from "effect"
import { AuditLog, type AuditMetadata, type UserId } from "../../Domain/index.ts"
import type { AuditLogStore } from "../Front/RepositoryStore.ts"
import { pageOf, withAuditLogs } from "./AuditLogIndex.ts"
import type { MemoryStore } from "./MemoryStore.ts"

// What jsonb keeps: a copy the caller cannot mutate afterwards, without `undefined` members. (jsonb also
// reorders keys, which no comparison of parsed objects can observe.)
const asJsonb = (metadata: AuditMetadata): AuditMetadata => JSON.parse(JSON.stringify(metadata))

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
        return [logs, { ...tables, auditLogs, auditLogOrder: withAuditLogs(tables.auditLogOrder, logs) }] as const
      })
    ),
  findById: (id) => Effect.map(store.read, (tables) => HashMap.get(tables.auditLogs, id)),
  // Kept in order as rows are added, so a page is a binary search and the page's rows, never a sort.
  list: (query) => Effect.map(store.read, (tables) => pageOf(tables.auditLogOrder, query))
})
