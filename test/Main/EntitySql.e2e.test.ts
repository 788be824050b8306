/** Issue 17: `platform-kernel entity-sql <module>` prints the CREATE TABLE each declared entity expects. */
import { assert, it } from "vitest"
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
