import { DateTime, HashMap, Option } from "effect"
import type { AuditLog } from "../../Domain/index.ts"
import type { AuditKey, AuditLogQuery } from "../Front/RepositoryStore.ts"
import * as SortedRows from "./SortedRows.ts"
import { compareText } from "./TextOrder.ts"

/**
 * `audit_logs` in keyset order ("timestamp", id), kept sorted as rows are appended, once in full and once per
 * actor, target and action, so a page is found by binary search instead of sorting the table (see
 * `pageOf` for the cost of each filter). Persistent, like every memory table: a snapshot never changes.
 */
export interface AuditLogIndex {
  readonly all: SortedRows.SortedRows<AuditLog>
  readonly byActor: HashMap.HashMap<string, SortedRows.SortedRows<AuditLog>>
  readonly byTarget: HashMap.HashMap<string, SortedRows.SortedRows<AuditLog>>
  readonly byAction: HashMap.HashMap<string, SortedRows.SortedRows<AuditLog>>
}

export const emptyAuditLogIndex: AuditLogIndex = {
  all: SortedRows.empty,
  byActor: HashMap.empty(),
  byTarget: HashMap.empty(),
  byAction: HashMap.empty()
}

const millisOf = (log: AuditLog): number => DateTime.toEpochMillis(log.timestamp)

/** PostgreSQL's order: "timestamp", then id (a uuid compares as its lower-case text). */
export const compareAuditLogs = (left: AuditLog, right: AuditLog): number =>
  millisOf(left) - millisOf(right) || compareText(left.id, right.id)

/** The cursor key of PostgreSQL: microseconds since the epoch, though memory timestamps only have milliseconds. */
export const auditKeyOf = (log: AuditLog): AuditKey => [String(BigInt(millisOf(log)) * 1000n), log.id]

const groupBy = (
  groups: HashMap.HashMap<string, SortedRows.SortedRows<AuditLog>>,
  logs: ReadonlyArray<AuditLog>,
  keyOf: (log: AuditLog) => string | undefined
) => {
  const added = new Map<string, Array<AuditLog>>()
  for (const log of logs) {
    const key = keyOf(log)
    if (key === undefined) continue
    const group = added.get(key)
    if (group === undefined) added.set(key, [log])
    else group.push(log)
  }
  let result = groups
  for (const [key, values] of added) {
    const rows = Option.getOrElse(HashMap.get(result, key), () => SortedRows.empty)
    result = HashMap.set(result, key, SortedRows.insertAll(rows, values, compareAuditLogs))
  }
  return result
}

/** `index` with `logs` added: O(log n) per row, plus copying the chunks touched (see SortedRows). */
export const withAuditLogs = (index: AuditLogIndex, logs: ReadonlyArray<AuditLog>): AuditLogIndex => ({
  all: SortedRows.insertAll(index.all, logs, compareAuditLogs),
  byActor: groupBy(index.byActor, logs, (log) => Option.getOrUndefined(log.actorId)),
  byTarget: groupBy(index.byTarget, logs, (log) => Option.getOrUndefined(log.targetId)),
  byAction: groupBy(index.byAction, logs, (log) => log.action)
})

/**
 * One page, newest first, as PostgreSQL's `ORDER BY "timestamp" DESC, id DESC LIMIT` with the same filters.
 * The rows read are those of the most selective index among actor, target and action (else all rows),
 * starting below the cursor and `to` (binary search) and stopping below `from` or when the page is full:
 * - no filter, `from`/`to`, or one of actor, target, action: O(log n + page);
 * - two or more of actor, target, action: O(log n + the rows of the first, in actor, target, action order,
 *   between the cursor and the page's last row), since the others are checked row by row.
 */
export const pageOf = (index: AuditLogIndex, query: AuditLogQuery): Array<readonly [AuditLog, AuditKey]> => {
  const rows =
    query.actorId !== undefined
      ? HashMap.get(index.byActor, query.actorId)
      : query.targetId !== undefined
        ? HashMap.get(index.byTarget, query.targetId)
        : query.action !== undefined
          ? HashMap.get(index.byAction, query.action)
          : Option.some(index.all)
  if (Option.isNone(rows)) return []
  const from = query.from === undefined ? undefined : DateTime.toEpochMillis(query.from)
  const to = query.to === undefined ? undefined : DateTime.toEpochMillis(query.to)
  const after = query.after === undefined ? undefined : ([BigInt(query.after[0]), query.after[1]] as const)
  // Rows strictly before the cursor and before `to`: a prefix of the ascending order.
  const isBelow = (log: AuditLog): boolean => {
    const at = millisOf(log)
    if (to !== undefined && at >= to) return false
    if (after === undefined) return true
    const micros = BigInt(at) * 1000n
    return micros !== after[0] ? micros < after[0] : compareText(log.id, after[1]) < 0
  }
  const page: Array<readonly [AuditLog, AuditKey]> = []
  if (query.limit <= 0) return page
  for (const log of SortedRows.descendingBelow(rows.value, isBelow)) {
    if (from !== undefined && millisOf(log) < from) break
    if (
      (query.targetId === undefined || Option.getOrUndefined(log.targetId) === query.targetId) &&
      (query.action === undefined || log.action === query.action)
    ) {
      page.push([log, auditKeyOf(log)])
      if (page.length >= query.limit) break
    }
  }
  return page
}
