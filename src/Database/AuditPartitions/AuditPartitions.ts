/**
 * The partitions of `audit_logs` (migration 0006): made ahead of time, listed, and dropped when expired
 * (after an archive of each, when asked). Every operation that changes them runs under one advisory lock,
 * so instances started together take turns: one makes what is missing, the others find it made.
 *
 * Making and dropping partitions needs the owner of `audit_logs` (CREATE TABLE ... then ATTACH, DROP TABLE):
 * the service role of README "Least privilege" can do neither, and still cannot delete or rewrite a row.
 */
import { existsSync } from "node:fs"
import { join } from "node:path"
import { Duration, Effect, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { auditPartitionsChanged } from "../Postgres/AuditPageLayout.ts"
import { quoteIdentifier } from "../Postgres/Identifiers.ts"
import {
  type ArchivedAuditRow,
  type ArchiveSummary,
  checksumFileOf,
  openArchive,
  verifyAuditArchive
} from "./AuditArchive.ts"
import { type PartitionPeriod, partitionName, type Slot, slotsToMake } from "./PartitionPeriod.ts"

/** The advisory lock every change of the partitions takes (the text hashed names it in pg_locks' objid). */
const LOCK_KEY = "platform_kernel.audit_partitions"

/** How long a change waits for a table lock before giving up (it is tried again on the next run). */
const LOCK_TIMEOUT = "10s"

/** Rows read per statement while archiving a partition. */
const ARCHIVE_BATCH = 10_000

/** One partition of `audit_logs`, as the catalog describes it. */
export interface AuditPartition {
  readonly name: string
  /** The DEFAULT partition: rows outside every range (never dropped by retention). */
  readonly isDefault: boolean
  /** Range start (included); undefined for MINVALUE (the legacy partition) and for the default one. */
  readonly from: Date | undefined
  /** Range end (excluded); undefined for the default one. */
  readonly to: Date | undefined
  /** The planner's estimate (pg_class.reltuples), undefined before the table was first analyzed. */
  readonly estimatedRows: number | undefined
  /** Heap, indexes and TOAST (pg_total_relation_size). */
  readonly bytes: number
}

interface PartitionRow {
  readonly name: string
  readonly is_default: boolean
  readonly lower: Date | null
  readonly upper: Date | null
  readonly estimated_rows: number
  readonly bytes: number
}

/** The partitions of `audit_logs`, oldest first, the default one last. */
export const listAuditPartitions = Effect.fn("listAuditPartitions")(function* () {
  const sql = (yield* SqlClient.SqlClient).withoutTransforms()
  const rows = yield* sql<PartitionRow>`
    WITH parts AS (
      SELECT c.oid, c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound, c.reltuples
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = to_regclass('audit_logs')
    )
    SELECT relname::text AS name, bound = 'DEFAULT' AS is_default,
      (regexp_match(bound, 'FROM \\(''([^'']*)''\\)'))[1]::timestamptz AS lower,
      (regexp_match(bound, 'TO \\(''([^'']*)''\\)'))[1]::timestamptz AS upper,
      reltuples::float8 AS estimated_rows, pg_total_relation_size(oid)::float8 AS bytes
    FROM parts
    ORDER BY bound = 'DEFAULT', upper NULLS LAST, relname`
  return rows.map(
    (row): AuditPartition => ({
      name: row.name,
      isDefault: row.is_default,
      from: row.lower ?? undefined,
      to: row.upper ?? undefined,
      estimatedRows: row.estimated_rows < 0 ? undefined : row.estimated_rows,
      bytes: row.bytes
    })
  )
})

/** The exact row count of one partition (a full count: it reads the partition). */
export const countPartitionRows = Effect.fn("countPartitionRows")(function* (name: string) {
  const sql = (yield* SqlClient.SqlClient).withoutTransforms()
  const [row] = yield* sql<{ readonly count: number }>`SELECT count(*)::float8 AS count FROM ${sql(name)}`
  return row!.count
})

/**
 * The rows of the default partition: counted when this role may read it, else the planner's estimate (a
 * service role without SELECT on the partition itself still gets a figure).
 */
const countDefaultRows = (name: string) =>
  Effect.gen(function* () {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const [row] = yield* sql<{ readonly readable: boolean; readonly estimate: number }>`
      SELECT has_table_privilege(oid, 'SELECT') AS readable, greatest(reltuples, 0)::float8 AS estimate
      FROM pg_class WHERE oid = to_regclass(${name})`
    return row === undefined ? 0 : row.readable ? yield* countPartitionRows(name) : row.estimate
  })

const lockPartitions = (sql: SqlClient.SqlClient) =>
  Effect.andThen(
    sql`SELECT pg_advisory_xact_lock(hashtext(${LOCK_KEY}))`,
    sql.unsafe(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`)
  )

const literal = (date: Date) => `'${date.toISOString()}'`

/** A slot left to the default partition because it already holds rows of it. */
export interface BlockedSlot extends Slot {
  readonly defaultRows: number
}

/** What `ensureAuditPartitions` did and found. */
export interface EnsureResult {
  readonly created: ReadonlyArray<string>
  /** Slots not made: the default partition holds rows in them (making them would need those rows moved). */
  readonly blocked: ReadonlyArray<BlockedSlot>
  /** Rows in the default partition: appends that found no partition of their time. */
  readonly defaultRows: number
}

const defaultPartitionOf = (partitions: ReadonlyArray<AuditPartition>) => partitions.find((p) => p.isDefault)?.name

/**
 * Makes the partitions of the current period and of the `ahead` next ones that are missing (see
 * `slotsToMake`), each as a table of its own first, then attached: ATTACH takes only a SHARE UPDATE
 * EXCLUSIVE lock on `audit_logs`, so appends and reads go on (CREATE TABLE ... PARTITION OF would lock them
 * out). Runs under the partitions' advisory lock, in one transaction.
 */
export const ensureAuditPartitions = Effect.fn("ensureAuditPartitions")(function* (options: {
  readonly period: PartitionPeriod
  readonly ahead: number
  readonly now: Date
}) {
  const sql = yield* SqlClient.SqlClient
  return yield* sql
    .withTransaction(
      Effect.gen(function* () {
        yield* lockPartitions(sql)
        const partitions = yield* listAuditPartitions()
        const ranges = partitions.filter((p) => !p.isDefault && p.to !== undefined)
        const coveredUntil = ranges.length === 0 ? undefined : new Date(Math.max(...ranges.map((p) => p.to!.getTime())))
        const defaultName = defaultPartitionOf(partitions)
        const created: Array<string> = []
        const blocked: Array<BlockedSlot> = []
        for (const slot of slotsToMake(options.period, options.ahead, options.now, coveredUntil)) {
          const name = partitionName(slot)
          if (defaultName !== undefined) {
            const [inDefault] = yield* sql<{ readonly count: number }>`
            SELECT count(*)::float8 AS count FROM ${sql(defaultName)}
            WHERE "timestamp" >= ${slot.from} AND "timestamp" < ${slot.to}`.withoutTransform
            if (inDefault!.count > 0) {
              blocked.push({ ...slot, defaultRows: inDefault!.count })
              continue
            }
          }
          yield* sql.unsafe(
            `CREATE TABLE ${name} (LIKE audit_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS, PRIMARY KEY (id))`
          )
          yield* sql.unsafe(
            `ALTER TABLE audit_logs ATTACH PARTITION ${name} FOR VALUES FROM (${literal(slot.from)}) TO (${literal(slot.to)})`
          )
          yield* sql.unsafe(
            `CREATE TRIGGER ${name}_no_truncate BEFORE TRUNCATE ON ${name} FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_reject_change()`
          )
          created.push(name)
        }
        const defaultRows = defaultName === undefined ? 0 : yield* countDefaultRows(defaultName)
        return { created, blocked, defaultRows } satisfies EnsureResult
      })
    )
    .pipe(Effect.tap((result) => (result.created.length > 0 ? Effect.sync(auditPartitionsChanged) : Effect.void)))
})

/** Retention refused to drop a partition: its archive did not read back as written. */
export class AuditRetentionError extends Schema.TaggedError<AuditRetentionError>()("AuditRetentionError", {
  partition: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `audit retention, partition ${this.partition}: ${this.detail}`
  }
}

/** One partition dropped by `dropExpiredAuditPartitions`. */
export interface DroppedPartition {
  readonly name: string
  readonly from: Date | undefined
  readonly to: Date
  /** Exact when archived (the rows written), else the planner's estimate (undefined before an ANALYZE). */
  readonly rows: number | undefined
  readonly rowsAre: "exact" | "estimate"
  /** Its archive, when an archive directory was given. */
  readonly archive: ArchiveSummary | undefined
}

/** The archive file of a partition in `directory`. */
export const archiveFileOf = (directory: string, partition: string): string => join(directory, `${partition}.csv`)

/** Whether `directory` holds a complete archive of `partition` (the file and its checksum file). */
export const isArchived = (directory: string, partition: string): boolean =>
  existsSync(archiveFileOf(directory, partition)) && existsSync(checksumFileOf(archiveFileOf(directory, partition)))

interface ArchiveRow {
  readonly id: string
  readonly actor_id: string | null
  readonly action: string
  readonly target_id: string | null
  readonly metadata: string
  readonly ts: string
}

/** The rows of `partition` in (timestamp, id) order, as archived text, one batch per call of `onBatch`. */
export const readPartitionRows = <E, R>(
  partition: string,
  onBatch: (rows: ReadonlyArray<ArchivedAuditRow>) => Effect.Effect<void, E, R>
) =>
  Effect.gen(function* () {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const table = sql(partition)
    let after: readonly [string, string] | undefined
    while (true) {
      const rows = yield* sql<ArchiveRow>`
        SELECT id::text AS id, actor_id::text AS actor_id, action, target_id, metadata::text AS metadata,
          to_char("timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts
        FROM ${table}
        ${after === undefined ? sql`` : sql`WHERE ("timestamp", id) > (${after[0]}::timestamptz, ${after[1]}::uuid)`}
        ORDER BY "timestamp", id LIMIT ${ARCHIVE_BATCH}`
      if (rows.length === 0) return
      yield* onBatch(
        rows.map((row) => ({
          id: row.id,
          actorId: row.actor_id,
          action: row.action,
          targetId: row.target_id,
          metadata: row.metadata,
          timestamp: row.ts
        }))
      )
      const last = rows[rows.length - 1]!
      after = [last.ts, last.id]
      if (rows.length < ARCHIVE_BATCH) return
    }
  })

/**
 * Drops every range partition whose whole range ended `retention` or more before `now` (never a part of one,
 * never the default partition), oldest first, each in a transaction of its own under the partitions' lock.
 * With `archiveDirectory`, each is first exported to `<directory>/<partition>.csv` with its checksum file,
 * with writes to the partition locked out meanwhile, and dropped only once the archive reads back with the
 * rows written and its checksum. No statement counts a whole partition: a count of billions of rows would
 * outlast `database.statementTimeout`.
 */
export const dropExpiredAuditPartitions = Effect.fn("dropExpiredAuditPartitions")(function* (options: {
  readonly retention: Duration.Duration
  readonly archiveDirectory: string | undefined
  readonly now: Date
}) {
  const sql = yield* SqlClient.SqlClient
  const cutoff = options.now.getTime() - Duration.toMillis(options.retention)
  const expired = (yield* listAuditPartitions()).filter(
    (p) => !p.isDefault && p.to !== undefined && p.to.getTime() <= cutoff
  )
  const dropped: Array<DroppedPartition> = []
  for (const partition of expired) {
    const result = yield* sql
      .withTransaction(
        Effect.gen(function* () {
          yield* lockPartitions(sql)
          // Another instance may have dropped it while this one waited for the lock.
          const [still] = yield* sql<{ readonly present: boolean }>`
          SELECT to_regclass(${partition.name}) IS NOT NULL AS present`.withoutTransform
          if (!still!.present) return undefined
          // Reads go on; no row can be written to it from here to the drop, so the archive is all of it.
          yield* sql.unsafe(`LOCK TABLE ${quoteIdentifier(partition.name)} IN SHARE MODE`)
          const archive =
            options.archiveDirectory === undefined
              ? undefined
              : yield* archivePartition(partition.name, archiveFileOf(options.archiveDirectory, partition.name))
          if (archive !== undefined) {
            const back = yield* verifyAuditArchive(archive.file)
            if (back.rows !== archive.rows || back.sha256 !== archive.sha256) {
              return yield* new AuditRetentionError({
                partition: partition.name,
                detail: `its archive reads back ${back.rows} rows (sha256 ${back.sha256}), ${archive.rows} were written (sha256 ${archive.sha256}): not dropped`
              })
            }
          }
          yield* sql.unsafe(`DROP TABLE ${quoteIdentifier(partition.name)}`)
          return {
            name: partition.name,
            from: partition.from,
            to: partition.to!,
            rows: archive?.rows ?? partition.estimatedRows,
            rowsAre: archive === undefined ? "estimate" : "exact",
            archive
          } satisfies DroppedPartition
        })
      )
      .pipe(Effect.tap((dropped) => (dropped !== undefined ? Effect.sync(auditPartitionsChanged) : Effect.void)))
    if (result !== undefined) {
      dropped.push(result)
      yield* Effect.logInfo("audit partition dropped").pipe(
        Effect.annotateLogs({
          partition: result.name,
          rows: result.rows ?? "unknown",
          rowsAre: result.rowsAre,
          archive: result.archive?.file ?? "none"
        })
      )
    }
  }
  return dropped as ReadonlyArray<DroppedPartition>
})

/** Exports one partition to `file` (and its checksum file), in (timestamp, id) order. */
export const archivePartition = (partition: string, file: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const writer = yield* openArchive(file)
      yield* readPartitionRows(partition, writer.write)
      return yield* writer.commit
    })
  )
