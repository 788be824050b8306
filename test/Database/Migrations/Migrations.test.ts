import { createHash } from "node:crypto"
import { appendFileSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem, NodePath } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, type FileSystem, Layer, type Path, References } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import { MigrationError } from "effect/sql/Migrator"
import { afterAll } from "vitest"
import { AppConfig, bundledMigrationsDirectory } from "../../../src/Config/AppConfig.ts"
import { describeSqlError } from "../../../src/Database/Client/SqlFailure.ts"
import * as Database from "../../../src/Database/Database.ts"
import { applyMigrations, migrationStatus } from "../../../src/Database/Migrations/DatabaseMigrations.ts"
import {
  type AppliedMigration,
  detectDrift,
  pendingMigrations
} from "../../../src/Database/Migrations/MigrationDrift.ts"
import { type MigrationFile, readMigrationFiles } from "../../../src/Database/Migrations/MigrationFiles.ts"
import { expectError } from "../../support/Expect.ts"
import { scopedDatabase, testConfig } from "../../support/TestDatabase.ts"
import { MIGRATIONS_TABLE } from "../../support/urls.ts"

const FileServices = Layer.merge(NodeFileSystem.layer, NodePath.layer)

const BUNDLED = bundledMigrationsDirectory()
const bundledFiles = readdirSync(BUNDLED)
  .filter((name) => name.endsWith(".sql"))
  .toSorted()
const fileOf = (id: number): string => {
  const name = bundledFiles.find((file) => Number(file.split("_")[0]) === id)
  if (name === undefined) throw new Error(`no bundled migration ${id}`)
  return name
}
const sha256Of = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex")

const tempRoot = mkdtempSync(join(tmpdir(), "pk-migrations-test-"))
afterAll(() => rmSync(tempRoot, { recursive: true, force: true }))

/** A temporary migrations folder holding copies of the bundled migrations with the given ids. */
const migrationsCopy = (ids: ReadonlyArray<number> = [1, 2, 3, 4, 5]): string => {
  const directory = mkdtempSync(join(tempRoot, "migrations-"))
  for (const id of ids) copyFileSync(join(BUNDLED, fileOf(id)), join(directory, fileOf(id)))
  return directory
}

const options = (directory: string) => ({ directory, table: MIGRATIONS_TABLE })

/** `SqlClient` on a new, empty database of its own (dropped afterwards), plus the file services. */
const EmptyDatabase = Layer.unwrap(
  Effect.gen(function* () {
    const database = yield* scopedDatabase({ from: "empty" })
    const config = yield* testConfig({ DATABASE_URL: database.url })
    return Layer.merge(Database.layerConnection.pipe(Layer.provide(AppConfig.layerFrom(config))), FileServices)
  })
)

const onEmptyDatabase = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient | FileSystem.FileSystem | Path.Path>) =>
  effect.pipe(Effect.provide(EmptyDatabase), Effect.provideService(References.MinimumLogLevel, "Warn"))

const tableExists = (name: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ readonly found: boolean }>`SELECT to_regclass(${name}) IS NOT NULL AS found`
    return row!.found
  })

const historyRows = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return yield* sql<{
    readonly id: number
    readonly name: string
    readonly sha256: string | null
  }>`SELECT migration_id AS id, name, sha256 FROM ${sql(MIGRATIONS_TABLE)} ORDER BY migration_id`
})

/** The MigrationError of a run that must be refused. */
const refusal = <A, E, R>(effect: Effect.Effect<A, E, R>) => expectError(effect, MigrationError)

describe("migrations on an empty database", () => {
  it.live("applies 1 to 5 once, records name and sha256 of each, and a second run applies nothing", () =>
    onEmptyDatabase(
      Effect.gen(function* () {
        const directory = migrationsCopy()
        const first = yield* applyMigrations(options(directory))
        assert.deepStrictEqual(first, [
          [1, "extensions"],
          [2, "identity"],
          [3, "audit_logs"],
          [4, "audit_timestamp"],
          [5, "permission_version"]
        ])
        const second = yield* applyMigrations(options(directory))
        assert.deepStrictEqual(second, [])
        const rows = yield* historyRows
        assert.deepStrictEqual(
          rows.map((row) => ({ ...row })),
          [1, 2, 3, 4, 5].map((id) => ({
            id,
            name: fileOf(id)
              .replace(/^\d+_/, "")
              .replace(/\.sql$/, ""),
            sha256: sha256Of(join(directory, fileOf(id)))
          }))
        )
        for (const table of ["users", "roles", "permissions", "user_roles", "role_permissions", "audit_logs"]) {
          assert.isTrue(yield* tableExists(table), table)
        }
      })
    )
  )

  it.live("migrationStatus reports everything pending on an empty database, then nothing pending", () =>
    onEmptyDatabase(
      Effect.gen(function* () {
        const directory = migrationsCopy()
        const before = yield* migrationStatus(options(directory))
        assert.deepStrictEqual(before.applied, [])
        assert.deepStrictEqual(
          before.pending.map((file) => file.fileName),
          [1, 2, 3, 4, 5].map(fileOf)
        )
        assert.deepStrictEqual(before.drift, [])
        assert.isNull(before.latest)
        yield* applyMigrations(options(directory))
        const after = yield* migrationStatus(options(directory))
        assert.deepStrictEqual(
          after.applied.map((row) => row.id),
          [1, 2, 3, 4, 5]
        )
        assert.isTrue(after.applied.every((row) => row.appliedAt instanceof Date))
        assert.deepStrictEqual(after.pending, [])
        assert.deepStrictEqual(after.drift, [])
        assert.strictEqual(after.latest, 5)
      })
    )
  )

  it.live("refuses an applied file that was edited, naming it; status reports the drift", () =>
    onEmptyDatabase(
      Effect.gen(function* () {
        const directory = migrationsCopy()
        yield* applyMigrations(options(directory))
        appendFileSync(join(directory, fileOf(2)), "\n-- an innocent-looking edit\n")
        const error = yield* refusal(applyMigrations(options(directory)))
        assert.strictEqual(error.kind, "BadState")
        assert.include(error.message, "refusing to migrate")
        assert.include(error.message, `${fileOf(2)} has changed since it was applied`)
        const status = yield* migrationStatus(options(directory))
        assert.deepStrictEqual(
          status.drift.map(({ kind, id }) => ({ kind, id })),
          [{ kind: "changed", id: 2 }]
        )
        assert.deepStrictEqual(status.pending, [])
      })
    )
  )

  it.live("refuses when an applied file is missing, naming it", () =>
    onEmptyDatabase(
      Effect.gen(function* () {
        const directory = migrationsCopy()
        yield* applyMigrations(options(directory))
        rmSync(join(directory, fileOf(3)))
        const error = yield* refusal(applyMigrations(options(directory)))
        assert.include(error.message, "migration 3_audit_logs was applied but its file is missing")
        const status = yield* migrationStatus(options(directory))
        assert.deepStrictEqual(
          status.drift.map(({ kind, id }) => ({ kind, id })),
          [{ kind: "missing", id: 3 }]
        )
      })
    )
  )

  it.live("refuses a new file whose id is below the latest applied one; status lists it as pending and drift", () =>
    onEmptyDatabase(
      Effect.gen(function* () {
        // 0003 does not depend on 0002, so 1 and 3 can be applied alone.
        const directory = migrationsCopy([1, 3])
        assert.deepStrictEqual(yield* applyMigrations(options(directory)), [
          [1, "extensions"],
          [3, "audit_logs"]
        ])
        copyFileSync(join(BUNDLED, fileOf(2)), join(directory, fileOf(2)))
        const error = yield* refusal(applyMigrations(options(directory)))
        assert.include(
          error.message,
          `${fileOf(2)} is pending but its id is lower than the latest applied migration (3)`
        )
        assert.isFalse(yield* tableExists("users"))
        const status = yield* migrationStatus(options(directory))
        assert.deepStrictEqual(
          status.pending.map((file) => file.id),
          [2]
        )
        assert.deepStrictEqual(
          status.drift.map(({ kind, id }) => ({ kind, id })),
          [{ kind: "outOfOrder", id: 2 }]
        )
        assert.deepStrictEqual(
          (yield* historyRows).map((row) => row.id),
          [1, 3]
        )
      })
    )
  )

  it.live("refuses a file with an unterminated string, naming the file, before applying anything", () =>
    onEmptyDatabase(
      Effect.gen(function* () {
        const directory = migrationsCopy()
        writeFileSync(join(directory, "0006_broken_quote.sql"), "CREATE TABLE t4 (id int);\nSELECT 'oops;\n")
        const error = yield* refusal(applyMigrations(options(directory)))
        assert.strictEqual(
          error.message,
          "0006_broken_quote.sql: Unterminated quoted string starting at line 2, column 8"
        )
        assert.isFalse(yield* tableExists("users"))
        assert.isFalse(yield* tableExists("t4"))
      })
    )
  )

  it.live("a failing migration rolls back every migration of the run, and the error names it", () =>
    onEmptyDatabase(
      Effect.gen(function* () {
        const directory = migrationsCopy()
        writeFileSync(
          join(directory, "0006_bad_sql.sql"),
          "CREATE TABLE t5 (id int);\nSELEC id FROM t5;\nCREATE TABLE t6 (id int);\n"
        )
        const error = yield* refusal(applyMigrations(options(directory)))
        assert.strictEqual(error.kind, "Failed")
        assert.strictEqual(error.message, 'Migration "6_bad_sql" failed')
        assert.isTrue(SqlError.isSqlError(error.cause))
        if (SqlError.isSqlError(error.cause)) assert.include(describeSqlError(error.cause), "SELEC")
        for (const table of ["users", "roles", "audit_logs", "t5", "t6"]) {
          assert.isFalse(yield* tableExists(table), table)
        }
        // The table is created before the run's transaction; the rows (and the sha256 column) were rolled back.
        const sql = yield* SqlClient.SqlClient
        const [history] = yield* sql<{
          readonly count: number
        }>`SELECT count(*)::int AS count FROM ${sql(MIGRATIONS_TABLE)}`
        assert.strictEqual(history!.count, 0)
        // Once the file is fixed, the whole run goes through.
        writeFileSync(join(directory, "0006_bad_sql.sql"), "CREATE TABLE t5 (id int);\n")
        assert.deepStrictEqual(
          (yield* applyMigrations(options(directory))).map(([id]) => id),
          [1, 2, 3, 4, 5, 6]
        )
        assert.isTrue(yield* tableExists("t5"))
      })
    )
  )
})

describe("migration files", () => {
  it.effect("reads the bundled files in id order with their sha256", () =>
    Effect.gen(function* () {
      const files = yield* readMigrationFiles(BUNDLED)
      assert.deepStrictEqual(
        files.map(({ id, name, fileName, sha256 }) => ({ id, name, fileName, sha256 })),
        [1, 2, 3, 4, 5, 6].map((id) => ({
          id,
          name: fileOf(id)
            .replace(/^\d+_/, "")
            .replace(/\.sql$/, ""),
          fileName: fileOf(id),
          sha256: sha256Of(join(BUNDLED, fileOf(id)))
        }))
      )
      assert.isTrue(files.every((file) => file.statements.length > 0))
    }).pipe(Effect.provide(FileServices))
  )

  it.effect("refuses duplicate ids and badly named files", () =>
    Effect.gen(function* () {
      const duplicates = migrationsCopy([1])
      writeFileSync(join(duplicates, "0001_again.sql"), "SELECT 1;\n")
      const duplicateError = yield* refusal(readMigrationFiles(duplicates))
      assert.include(duplicateError.message, "have the same migration id")
      assert.include(duplicateError.message, "0001_again.sql")

      const badName = migrationsCopy([1])
      writeFileSync(join(badName, "add-users.sql"), "SELECT 1;\n")
      const nameError = yield* refusal(readMigrationFiles(badName))
      assert.strictEqual(nameError.message, "add-users.sql: a migration file must be named NNNN_name.sql")

      const missing = yield* refusal(readMigrationFiles(join(tempRoot, "no-such-folder")))
      assert.strictEqual(missing.message, "cannot read the migrations folder (NotFound)")
    }).pipe(Effect.provide(FileServices))
  )
})

describe("detectDrift (no database)", () => {
  const file = (id: number, name: string, sha256: string): MigrationFile => ({
    id,
    name,
    fileName: `${String(id).padStart(4, "0")}_${name}.sql`,
    sha256,
    statements: ["SELECT 1"]
  })
  const row = (id: number, name: string, sha256: string | null): AppliedMigration => ({
    id,
    name,
    sha256,
    appliedAt: new Date(0)
  })

  it("finds nothing when every applied file is unchanged, or only newer files are pending", () => {
    const files = [file(1, "a", "aa11"), file(2, "b", "bb22"), file(3, "c", "cc33")]
    assert.deepStrictEqual(detectDrift(files, []), [])
    assert.deepStrictEqual(detectDrift(files, [row(1, "a", "aa11"), row(2, "b", "bb22")]), [])
    assert.deepStrictEqual(
      pendingMigrations(files, [row(1, "a", "aa11")]).map((f) => f.id),
      [2, 3]
    )
    // Rows recorded before checksums were kept are matched by name only.
    assert.deepStrictEqual(detectDrift(files, [row(1, "a", null)]), [])
  })

  it("reports changed, missing and out-of-order migrations, sorted by id", () => {
    const files = [
      file(1, "a", "aa11"),
      file(2, "b", "bb22-edited"),
      file(4, "d", "dd44"),
      file(5, "e", "ee55"),
      file(6, "renamed", "ff66"),
      file(8, "h", "hh88")
    ]
    const applied = [
      row(1, "a", "aa11"),
      row(2, "b", "bb22"),
      row(3, "c", "cc33"),
      row(5, "e", "ee55"),
      row(6, "f", "ff66"),
      row(7, "g", "gg77")
    ]
    const drift = detectDrift(files, applied)
    assert.deepStrictEqual(
      drift.map(({ kind, id, name }) => ({ kind, id, name })),
      [
        { kind: "changed", id: 2, name: "b" },
        { kind: "missing", id: 3, name: "c" },
        { kind: "outOfOrder", id: 4, name: "d" },
        { kind: "changed", id: 6, name: "f" },
        { kind: "missing", id: 7, name: "g" }
      ]
    )
    assert.include(drift[0]!.message, "0002_b.sql has changed since it was applied")
    assert.include(drift[1]!.message, "migration 3_c was applied but its file is missing")
    assert.include(drift[2]!.message, "0004_d.sql is pending but its id is lower than the latest applied migration (7)")
    // 8 is above the latest applied id: pending, not drift.
    assert.deepStrictEqual(
      pendingMigrations(files, applied).map((f) => f.id),
      [4, 8]
    )
  })
})
