/**
 * Archives of dropped `audit_logs` partitions: one CSV file per partition, as PostgreSQL's
 * `COPY ... (FORMAT csv, HEADER)` reads it (so `psql \copy t FROM 'file.csv' (FORMAT csv, HEADER)` restores
 * it), and a `sha256sum`-style checksum file beside it. Written through a temporary file, fsync and rename,
 * so a file under its final name is always complete; read back only after its checksum matched.
 */
import { createHash, type Hash } from "node:crypto"
import { createReadStream } from "node:fs"
import * as fs from "node:fs/promises"
import { basename, dirname, join } from "node:path"
import { Effect, Schema } from "effect"

/** The columns of an archive, in order: the header line names them. */
export const ARCHIVE_COLUMNS = ["id", "actor_id", "action", "target_id", "metadata", "timestamp"] as const

/**
 * One archived row, every value as PostgreSQL's text of it: the id and actor as uuid text, the metadata as
 * jsonb text, the timestamp as UTC ISO 8601 with microseconds (e.g. `2026-01-31T23:59:59.123456Z`).
 */
export interface ArchivedAuditRow {
  readonly id: string
  readonly actorId: string | null
  readonly action: string
  readonly targetId: string | null
  readonly metadata: string
  readonly timestamp: string
}

/** What reading an archive found: its rows counted and its checksum (verified against the file beside it). */
export interface ArchiveSummary {
  readonly file: string
  readonly rows: number
  readonly sha256: string
}

/** An archive that cannot be trusted or read: missing, without checksum, damaged, or not the expected CSV. */
export class AuditArchiveError extends Schema.TaggedError<AuditArchiveError>()("AuditArchiveError", {
  file: Schema.String,
  reason: Schema.Literals(["Unreadable", "ChecksumMissing", "ChecksumMismatch", "Malformed"]),
  detail: Schema.String
}) {
  override get message(): string {
    return `audit archive ${this.file}: ${this.detail}`
  }
}

/** The checksum file of `file`. */
export const checksumFileOf = (file: string): string => `${file}.sha256`

const HEADER = `${ARCHIVE_COLUMNS.join(",")}\n`

// COPY's CSV: a quoted value is text (a doubled quote inside), an unquoted empty one is NULL.
const quoted = (value: string) => `"${value.replaceAll('"', '""')}"`
const field = (value: string | null) => (value === null ? "" : quoted(value))

/** One row as a CSV line. */
export const csvLine = (row: ArchivedAuditRow): string =>
  `${quoted(row.id)},${field(row.actorId)},${quoted(row.action)},${field(row.targetId)},${quoted(row.metadata)},${quoted(row.timestamp)}\n`

/** An archive being written: batches are appended to a temporary file, hashed on the way. */
export interface ArchiveWriter {
  readonly write: (rows: ReadonlyArray<ArchivedAuditRow>) => Effect.Effect<void, AuditArchiveError>
  /** Flushes to disk, then gives the file and its checksum file their final names. */
  readonly commit: Effect.Effect<ArchiveSummary, AuditArchiveError>
}

const unreadable = (file: string, action: string) => (cause: unknown) =>
  new AuditArchiveError({
    file,
    reason: "Unreadable",
    detail: `cannot ${action}: ${cause instanceof Error ? cause.message : String(cause)}`
  })

const fsyncDirectory = async (directory: string) => {
  const handle = await fs.open(directory, "r")
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Writes `content` to `file` atomically: a temporary file beside it, fsync, rename, fsync of the folder. */
const writeAtomically = async (file: string, content: string) => {
  const temporary = join(dirname(file), `.${basename(file)}.tmp`)
  const handle = await fs.open(temporary, "w", 0o640)
  try {
    await handle.writeFile(content)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await fs.rename(temporary, file)
}

/**
 * Opens `file` for writing (its folder made when missing); the temporary file is removed when the scope
 * closes before `commit`.
 */
export const openArchive = Effect.fn("openArchive")(function* (file: string) {
  const temporary = join(dirname(file), `.${basename(file)}.tmp`)
  const handle = yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        await fs.mkdir(dirname(file), { recursive: true })
        return await fs.open(temporary, "w", 0o640)
      },
      catch: unreadable(file, "create the archive")
    }),
    (handle, exit) =>
      Effect.promise(async () => {
        await handle.close().catch(() => undefined)
        if (exit._tag === "Failure") await fs.rm(temporary, { force: true })
      })
  )
  const hash: Hash = createHash("sha256")
  let rows = 0
  let committed = false
  const append = (text: string) =>
    Effect.tryPromise({
      try: () => handle.write(text),
      catch: unreadable(file, "write the archive")
    }).pipe(Effect.tap(() => Effect.sync(() => hash.update(text))))
  yield* append(HEADER)
  const writer: ArchiveWriter = {
    write: (batch) =>
      Effect.suspend(() => {
        rows += batch.length
        return append(batch.map(csvLine).join(""))
      }),
    commit: Effect.suspend(() => {
      if (committed) return Effect.die(new Error("archive committed twice"))
      committed = true
      const sha256 = hash.digest("hex")
      return Effect.tryPromise({
        try: async () => {
          await handle.sync()
          await fs.rename(temporary, file)
          await writeAtomically(checksumFileOf(file), `${sha256}  ${basename(file)}\n`)
          await fsyncDirectory(dirname(file))
          return { file, rows, sha256 } satisfies ArchiveSummary
        },
        catch: unreadable(file, "finish the archive")
      })
    })
  }
  return writer
})

/** The checksum recorded beside `file`; refused when missing or not a sha256sum line for that file. */
const recordedChecksum = (file: string) =>
  Effect.tryPromise({
    try: () => fs.readFile(checksumFileOf(file), "utf8"),
    catch: () =>
      new AuditArchiveError({
        file,
        reason: "ChecksumMissing",
        detail: `no readable checksum file ${checksumFileOf(file)}`
      })
  }).pipe(
    Effect.flatMap((text) => {
      const match = /^([0-9a-f]{64}) {2}(.+)\n?$/.exec(text)
      return match === null || match[2] !== basename(file)
        ? Effect.fail(
            new AuditArchiveError({
              file,
              reason: "ChecksumMissing",
              detail: `${checksumFileOf(file)} is not a sha256 line for ${basename(file)}`
            })
          )
        : Effect.succeed(match[1]!)
    })
  )

/**
 * A streaming parser of COPY's CSV: fields split on commas outside quotes, records on newlines outside
 * quotes; `null` for an unquoted empty field.
 */
class CsvParser {
  private field = ""
  private fieldQuoted = false
  private inQuotes = false
  private quotePending = false
  private record: Array<string | null> = []
  readonly records: Array<Array<string | null>> = []

  push(text: string): void {
    for (let index = 0; index < text.length; index++) {
      const char = text[index]!
      if (this.inQuotes) {
        if (this.quotePending) {
          this.quotePending = false
          if (char === '"') {
            this.field += '"'
            continue
          }
          this.inQuotes = false
        } else if (char === '"') {
          this.quotePending = true
          continue
        } else {
          this.field += char
          continue
        }
      }
      if (char === '"') {
        if (this.field !== "") throw new Error("a quote inside an unquoted field")
        this.inQuotes = true
        this.fieldQuoted = true
      } else if (char === ",") {
        this.endField()
      } else if (char === "\n") {
        this.endField()
        this.records.push(this.record)
        this.record = []
      } else {
        if (this.fieldQuoted) throw new Error("text after a closing quote")
        this.field += char
      }
    }
  }

  /** Ends the input: a final record without its newline, or an open quote, is an error. */
  end(): void {
    if (this.quotePending) {
      this.quotePending = false
      this.inQuotes = false
    }
    if (this.inQuotes) throw new Error("the file ends inside a quoted field")
    if (this.field !== "" || this.fieldQuoted || this.record.length > 0) throw new Error("the last line has no newline")
  }

  private endField(): void {
    this.record.push(this.field === "" && !this.fieldQuoted ? null : this.field)
    this.field = ""
    this.fieldQuoted = false
  }
}

const toRow = (record: ReadonlyArray<string | null>, line: number): ArchivedAuditRow => {
  if (record.length !== ARCHIVE_COLUMNS.length) {
    throw new Error(`record ${line}: expected ${ARCHIVE_COLUMNS.length} fields, got ${record.length}`)
  }
  const [id, actorId, action, targetId, metadata, timestamp] = record
  if (!id || !action || !metadata || !timestamp) {
    throw new Error(`record ${line}: id, action, metadata and timestamp cannot be empty`)
  }
  return { id, actorId: actorId ?? null, action, targetId: targetId ?? null, metadata, timestamp }
}

/**
 * Reads `file` through once: its checksum against the one recorded beside it, and its records (each checked
 * to have the archive's columns); `onRows` gets each chunk's rows, so a large archive is never held whole.
 */
const readThrough = (file: string, onRows: (rows: ReadonlyArray<ArchivedAuditRow>) => void) =>
  Effect.gen(function* () {
    const expected = yield* recordedChecksum(file)
    const parsed = yield* Effect.tryPromise({
      try: async () => {
        const hash = createHash("sha256")
        const parser = new CsvParser()
        let rows = 0
        let header = true
        let malformed: string | undefined
        for await (const chunk of createReadStream(file, { encoding: "utf8" })) {
          hash.update(chunk as string)
          if (malformed !== undefined) continue
          try {
            parser.push(chunk as string)
            const records = parser.records.splice(0)
            if (header && records.length > 0) {
              const names = records.shift()!
              header = false
              if (names.join(",") !== ARCHIVE_COLUMNS.join(",")) throw new Error(`unexpected header ${names.join(",")}`)
            }
            const batch = records.map((record, index) => toRow(record, rows + index + 1))
            rows += batch.length
            onRows(batch)
          } catch (error) {
            malformed = (error as Error).message
          }
        }
        if (malformed === undefined) {
          try {
            parser.end()
            if (header) throw new Error("no header line")
          } catch (error) {
            malformed = (error as Error).message
          }
        }
        return { sha256: hash.digest("hex"), rows, malformed }
      },
      catch: unreadable(file, "read the archive")
    })
    // The checksum first: a damaged file is reported as damaged, whatever its damage did to the CSV.
    if (parsed.sha256 !== expected) {
      return yield* new AuditArchiveError({
        file,
        reason: "ChecksumMismatch",
        detail: `its sha256 is ${parsed.sha256}, the checksum file says ${expected}: the archive is damaged`
      })
    }
    if (parsed.malformed !== undefined) {
      return yield* new AuditArchiveError({ file, reason: "Malformed", detail: parsed.malformed })
    }
    return { file, rows: parsed.rows, sha256: parsed.sha256 } satisfies ArchiveSummary
  })

/** Checks an archive against its checksum file and counts its rows, without keeping them. */
export const verifyAuditArchive = Effect.fn("verifyAuditArchive")(function* (file: string) {
  return yield* readThrough(file, () => undefined)
})

/**
 * Reads an archive's rows into memory, after its checksum matched (for one partition of a modest size, or a
 * test; restore a large one with `psql \copy`).
 */
export const readAuditArchive = Effect.fn("readAuditArchive")(function* (file: string) {
  const rows: Array<ArchivedAuditRow> = []
  const summary = yield* readThrough(file, (batch) => {
    for (const row of batch) rows.push(row)
  })
  return { ...summary, rows: rows as ReadonlyArray<ArchivedAuditRow>, count: summary.rows }
})
