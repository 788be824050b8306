/** Issue 17: `platform-kernel entity-sql <module>` prints the CREATE TABLE each declared entity expects. */
import { it as effectIt } from "@effect/vitest"
import { Effect } from "effect"
import { assert, it } from "vitest"
import { createTableSql } from "../../src/Database/Entity/CatalogCheck.ts"
import { withAdmin } from "../support/adminClient.ts"
import { scopedDatabase } from "../support/TestDatabase.ts"
import { MIGRATIONS_TABLE } from "../support/urls.ts"
import { runCli } from "./runCli.ts"

it("prints the CREATE TABLE of every entity a module declares, repository classes included", async () => {
  const result = await runCli(["entity-sql", "test/Main/fixtures/NoteEntities.ts"], { timeoutMs: 30_000 })
  assert.strictEqual(result.code, 0, result.stderr)
  assert.strictEqual(
    result.stdout,
    `CREATE TABLE notes.notes (
  id uuid PRIMARY KEY,
  author_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  title text NOT NULL,
  created_at timestamp with time zone NOT NULL,
  UNIQUE (title)
);

CREATE TABLE notes.tags (
  id uuid PRIMARY KEY,
  note_id uuid REFERENCES notes.notes (id) ON DELETE SET NULL,
  label text NOT NULL
);

`
  )
})

it("refuses a module it cannot load, in one line", async () => {
  const result = await runCli(["entity-sql", "test/Main/fixtures/Missing.ts"], { timeoutMs: 30_000 })
  assert.strictEqual(result.code, 1)
  assert.match(result.stderr, /^platform-kernel: cannot load test\/Main\/fixtures\/Missing\.ts/)
  assert.notInclude(result.stderr, "    at ")
})

// `status --entities MODULE`: each declared entity's table is compared with the catalog, one line per difference.
const statusOf = (url: string) =>
  Effect.promise(() =>
    runCli(["status", "--entities", "test/Main/fixtures/NoteEntities.ts"], {
      env: { DATABASE_URL: url, DATABASE_MIGRATIONS_TABLE: MIGRATIONS_TABLE },
      timeoutMs: 45_000
    })
  )

effectIt.effect(
  "status --entities says ok for a matching table and names each difference, exiting 1",
  () =>
    Effect.gen(function* () {
      const { url } = yield* scopedDatabase({ from: "template" })
      const notes = yield* Effect.promise(() => import("./fixtures/NoteEntities.ts"))
      const ddl = [notes.Notes, notes.TagRepository.entity].map(createTableSql)
      yield* withAdmin(url, (sql) =>
        Effect.gen(function* () {
          yield* sql.unsafe("CREATE SCHEMA notes")
          for (const statement of ddl) yield* sql.unsafe(statement)
        })
      )
      const matching = yield* statusOf(url)
      assert.strictEqual(matching.code, 0, matching.stderr)
      assert.include(matching.stdout, "entities:\n  ok        notes.notes (Note)\n  ok        notes.tags (Tag)\n")
      yield* withAdmin(url, (sql) => sql.unsafe("ALTER TABLE notes.notes DROP CONSTRAINT notes_title_key"))
      const differing = yield* statusOf(url)
      assert.strictEqual(differing.code, 1, differing.stderr)
      assert.include(
        differing.stdout,
        "  DIFFERS   notes.notes (title): unique constraint missing; declared key title, found none\n"
      )
    }).pipe(Effect.scoped),
  60_000
)
