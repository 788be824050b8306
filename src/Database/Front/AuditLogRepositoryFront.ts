import { Array as Arr, Effect, Stream } from "effect"
import type { AuditLogId } from "../../Domain/index.ts"
import { type AppendAuditLog, AuditLogRepository, type ListAuditLogs } from "../Repositories/AuditLogRepository.ts"
import { countAuditRecords } from "../Telemetry/MetricsSwitch.ts"
import { decodedAuditRow, decodedAuditRows } from "./AuditTrail.ts"
import { methodsOf } from "./Operation.ts"
import { listPage, streamOf } from "./Paging.ts"
import {
  auditCursor,
  auditLogIdRule,
  decodeAuditEntries,
  decodeAuditEntry,
  decodeListAuditLogs,
  lookupById,
  lowerCaseId,
  requestOrEmpty
} from "./RepositoryInputs.ts"
import { RepositoryStore } from "./RepositoryStore.ts"

/** `AuditLogRepository` over the `RepositoryStore` of any backend. */
export const makeAuditLogRepository: Effect.Effect<AuditLogRepository["Service"], never, RepositoryStore> = Effect.gen(
  function* () {
    const { auditLogs } = yield* RepositoryStore
    const method = methodsOf("AuditLogRepository")

    const append = method("append")(function* (entry: AppendAuditLog) {
      const [log] = yield* auditLogs.insert([yield* decodedAuditRow(yield* decodeAuditEntry(entry))])
      yield* countAuditRecords(1)
      return log!
    })

    // Every entry is validated before anything is written.
    const appendMany = method("appendMany")(function* (entries: ReadonlyArray<AppendAuditLog>) {
      const rows = yield* decodedAuditRows((yield* decodeAuditEntries({ entries })).entries)
      if (!Arr.isReadonlyArrayNonEmpty(rows)) return []
      const logs = yield* auditLogs.insert(rows)
      yield* countAuditRecords(logs.length)
      return logs
    })

    const findById = method("findById")(function* (id: AuditLogId) {
      return yield* lookupById(auditLogIdRule, "id", id, auditLogs.findById)
    })

    const list = method("list")(function* (filter?: ListAuditLogs) {
      const request = yield* decodeListAuditLogs(requestOrEmpty(filter))
      const page = yield* listPage(
        request,
        auditCursor,
        ({ after, limit }) =>
          auditLogs.list({
            after: after && [after[0], lowerCaseId(after[1])],
            limit,
            actorId: request.actorId && lowerCaseId(request.actorId),
            targetId: request.targetId,
            action: request.action,
            from: request.from,
            to: request.to
          }),
        ([, key]) => key
      )
      return { items: page.items.map(([log]) => log), nextCursor: page.nextCursor }
    })

    // Decoded once, before the first page: pages are then asked for with the checked copy only.
    const stream = (filter?: ListAuditLogs) =>
      Stream.unwrap(Effect.map(decodeListAuditLogs(requestOrEmpty(filter)), streamOf(list)))

    return AuditLogRepository.of({ append, appendMany, findById, list, stream })
  }
)
