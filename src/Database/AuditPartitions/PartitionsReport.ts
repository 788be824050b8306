/** What `platform-kernel audit partitions` prints: each partition's range, rows, size and archive state. */
import { readdirSync } from "node:fs"
import { Console, Effect } from "effect"
import type { AppConfigValues } from "../../Config/ConfigSchema.ts"
import { archiveDirectoryOf } from "./AuditMaintenance.ts"
import { archiveFileOf, countPartitionRows, isArchived, listAuditPartitions } from "./AuditPartitions.ts"

/** One line of the report. */
export interface PartitionLine {
  readonly partition: string
  /** ISO 8601, or null for MINVALUE (the legacy partition) and the default partition. */
  readonly from: string | null
  readonly to: string | null
  readonly isDefault: boolean
  readonly rows: number | null
  /** "exact" (counted) or "estimate" (pg_class.reltuples; null before the first ANALYZE). */
  readonly rowsAre: "exact" | "estimate"
  readonly bytes: number
  /** "archived" when the archive and its checksum are in audit.archive.directory, else "none". */
  readonly archive: "archived" | "none"
}

export interface PartitionsReport {
  readonly partitions: ReadonlyArray<PartitionLine>
  /** Archives in audit.archive.directory whose partition is gone (dropped by retention). */
  readonly droppedArchives: ReadonlyArray<string>
  /** Rows in the default partition (exact): appends that found no partition of their time. */
  readonly defaultRows: number
}

export const listPartitionsReport = Effect.fn("listPartitionsReport")(function* (
  config: AppConfigValues,
  options: { readonly exact: boolean }
) {
  const directory = archiveDirectoryOf(config)
  const partitions = yield* listAuditPartitions()
  const lines: Array<PartitionLine> = []
  let defaultRows = 0
  for (const p of partitions) {
    // The default partition is always counted: it should be empty, and any row in it is news.
    const exact = options.exact || p.isDefault
    const rows = exact ? yield* countPartitionRows(p.name) : (p.estimatedRows ?? null)
    if (p.isDefault) defaultRows = rows ?? 0
    lines.push({
      partition: p.name,
      from: p.from?.toISOString() ?? null,
      to: p.to?.toISOString() ?? null,
      isDefault: p.isDefault,
      rows,
      rowsAre: exact ? "exact" : "estimate",
      bytes: p.bytes,
      archive: directory !== undefined && isArchived(directory, p.name) ? "archived" : "none"
    })
  }
  const names = new Set(partitions.map((p) => p.name))
  const droppedArchives =
    directory === undefined
      ? []
      : (() => {
          try {
            return readdirSync(directory)
              .filter((file) => file.endsWith(".csv") && !names.has(file.slice(0, -4)))
              .filter((file) => isArchived(directory, file.slice(0, -4)))
              .map((file) => archiveFileOf(directory, file.slice(0, -4)))
              .toSorted()
          } catch {
            return []
          }
        })()
  return { partitions: lines, droppedArchives, defaultRows } satisfies PartitionsReport
})

const megabytes = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`

export const printPartitionsReport = (report: PartitionsReport) =>
  Effect.gen(function* () {
    const rows = report.partitions.map((p) => [
      p.partition,
      p.isDefault ? "DEFAULT" : (p.from ?? "MINVALUE"),
      p.isDefault ? "" : (p.to ?? ""),
      p.rows === null ? "unknown" : `${p.rows.toLocaleString("en")}${p.rowsAre === "estimate" ? " (est.)" : ""}`,
      megabytes(p.bytes),
      p.archive
    ])
    const header = ["partition", "from", "to", "rows", "size", "archive"]
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)))
    for (const line of [header, ...rows]) {
      yield* Console.log(
        line
          .map((cell, column) => cell.padEnd(widths[column]!))
          .join("  ")
          .trimEnd()
      )
    }
    for (const file of report.droppedArchives) yield* Console.log(`dropped, archived: ${file}`)
    if (report.defaultRows > 0) {
      yield* Console.log(
        `WARNING: audit_logs_default holds ${report.defaultRows} row(s) outside every time partition (made late, or a clock far off)`
      )
    }
  })
