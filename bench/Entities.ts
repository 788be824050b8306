/**
 * A service's own entity in the benchmark (issue 17): `bench_notes`, declared with the kit as a service would,
 * referencing the seeded users; seeded with one note per user. No audit, so `create` is one statement like
 * the drivers' INSERT.
 */
import { Schema } from "effect"
import { Model } from "effect/schema"
import { Entity, UserId } from "../src/index.ts"
import type { KernelModule } from "./Contenders/Library.ts"

export const createNotesTable = `CREATE TABLE IF NOT EXISTS bench_notes (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  title text NOT NULL,
  created_at timestamptz NOT NULL
)`

const notePrefix = "01900000-0000-7000-8003-"
/** Note `n` (1-based), the note of user `n`. */
export const noteIdOf = (n: number): string => `${notePrefix}${n.toString(16).padStart(12, "0")}`
export const noteIdSql = (n: string): string => `('${notePrefix}' || lpad(to_hex((${n})::bigint), 12, '0'))::uuid`

const NoteId = Schema.String.pipe(Schema.check(Schema.isUUID()), Schema.brand("NoteId"))

export class Note extends Model.Class<Note>("Note")({
  id: NoteId,
  userId: UserId,
  title: Schema.String,
  createdAt: Model.DateTimeInsertFromDate
}) {}

export class NoteNotFound extends Schema.TaggedError<NoteNotFound>()("NoteNotFound", Entity.NotFoundFields) {}

/** The notes entity, declared with the given copy of the kit (the sources, or the built package). */
export const makeNotes = (kernel: KernelModule) =>
  kernel.Entity.make(Note, {
    table: "bench_notes",
    notFound: NoteNotFound,
    references: { userId: { to: "users", onDelete: "cascade" } }
  })

export type Notes = ReturnType<typeof makeNotes>
