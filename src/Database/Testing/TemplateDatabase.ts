import { createHash, randomBytes } from "node:crypto"
import { Effect, Schedule } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { sqlStateOf } from "../Client/SqlFailure.ts"
import type { MigrationOptions } from "../Migrations/DatabaseMigrations.ts"
import type { MigrationFile } from "../Migrations/MigrationFiles.ts"

/** One set of migrations a template is made from, with its files as read. */
export interface TemplateMigrations {
  readonly options: MigrationOptions
  readonly files: ReadonlyArray<MigrationFile>
}

// Part of the hash: changing how a template is made must not reuse templates made the old way.
const RECIPE = "platform-kernel/testing template 1"

/**
 * The template's name: a hash of what it holds (each set's history table and schema, and its files' names and
 * contents), so every process that needs the same schema finds the same template, and a changed migration gets
 * a new one.
 */
export const templateName = (sets: ReadonlyArray<TemplateMigrations>): string => {
  const hash = createHash("sha256").update(RECIPE)
  for (const { options, files } of sets) {
    hash.update(`\0set\0${options.table}\0${options.schema ?? ""}`)
    for (const file of files) hash.update(`\0${file.fileName}\0${file.sha256}`)
  }
  return `platform_kernel_template_${hash.digest("hex").slice(0, 20)}`
}

/** A name for a new test database. */
export const cloneName = (): string => `platform_kernel_test_${randomBytes(6).toString("hex")}`

const lockKey = (template: string) => `platform-kernel/testing:${template}`

/**
 * Makes the template `name` exist, migrated by `migrate` (which connects to it by name), exactly once however
 * many processes ask at the same time: they queue on an advisory lock of the admin session, and the first
 * creates it while the others wait, then find it. A template is finished only when marked `IS_TEMPLATE` (with
 * connections refused, so nothing can hold it open and block a clone); one left unfinished by a process that
 * died is dropped and made again. Returns whether this call made it.
 */
export const ensureTemplate = <E>(
  name: string,
  migrate: Effect.Effect<void, E>
): Effect.Effect<boolean, E | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.scoped(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      // A session lock lives on one connection: reserve it, and query on the pool's other one meanwhile.
      const lockSession = yield* sql.reserve
      yield* Effect.acquireRelease(
        lockSession.execute("SELECT pg_advisory_lock(hashtext($1))", [lockKey(name)], undefined),
        () =>
          lockSession.execute("SELECT pg_advisory_unlock(hashtext($1))", [lockKey(name)], undefined).pipe(Effect.ignore)
      )
      const rows = yield* sql<{
        readonly datistemplate: boolean
      }>`SELECT datistemplate FROM pg_database WHERE datname = ${name}`
      if (rows[0]?.datistemplate === true) return false
      if (rows.length > 0) yield* sql.unsafe(`DROP DATABASE ${name} WITH (FORCE)`)
      yield* sql.unsafe(`CREATE DATABASE ${name}`)
      yield* migrate
      yield* sql.unsafe(`ALTER DATABASE ${name} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`)
      return true
    })
  )

// 55006 object_in_use: "source database ... is being accessed by other users".
const isTemplateBusy = (error: SqlError.SqlError) => sqlStateOf(error) === "55006"

/** A new database `name` copied from `template`, waiting while the template is busy with another copy. */
export const cloneTemplate = (
  template: string,
  name: string
): Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> =>
  SqlClient.SqlClient.use((sql) => sql.unsafe(`CREATE DATABASE ${name} TEMPLATE ${template}`)).pipe(
    Effect.asVoid,
    Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 200, while: isTemplateBusy })
  )

/** Drops `name`, ending any session still on it. */
export const dropDatabase = (name: string): Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> =>
  SqlClient.SqlClient.use((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).pipe(Effect.asVoid)
