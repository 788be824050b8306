import { createHash } from "node:crypto"
import { Effect, FileSystem, Path } from "effect"
import { MigrationError } from "effect/sql/Migrator"
import { splitSqlStatements } from "./SqlSplitter.ts"

/** One `NNNN_name.sql` file of the migrations folder, read and split into statements. */
export interface MigrationFile {
  readonly id: number
  readonly name: string
  readonly fileName: string
  readonly sha256: string
  readonly statements: ReadonlyArray<string>
}

const FILE_NAME = /^(\d+)_([A-Za-z0-9_-]+)\.sql$/

const fail = (message: string, cause?: unknown) => new MigrationError({ kind: "BadState", message, cause })

// The kind of failure (NotFound, PermissionDenied...), not the error's message: that quotes the path, which is
// a configuration value (a secret put under the wrong key must not be printed).
const reasonOf = (cause: { readonly reason?: { readonly _tag?: string } }): string => cause.reason?._tag ?? "unreadable"

/** Reads every migration of `directory`, in id order; duplicate ids and unsplittable files are refused. */
export const readMigrationFiles = Effect.fn("readMigrationFiles")(function* (directory: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const entries = yield* fs
    .readDirectory(directory)
    .pipe(Effect.mapError((cause) => fail(`cannot read the migrations folder (${reasonOf(cause)})`, cause)))
  const files: Array<MigrationFile> = []
  for (const fileName of entries.toSorted()) {
    if (!fileName.endsWith(".sql")) continue
    const match = FILE_NAME.exec(fileName)
    if (match === null) {
      return yield* fail(`${fileName}: a migration file must be named NNNN_name.sql`)
    }
    const text = yield* fs
      .readFileString(path.join(directory, fileName))
      .pipe(Effect.mapError((cause) => fail(`${fileName}: cannot be read (${reasonOf(cause)})`, cause)))
    const statements = yield* Effect.try({
      try: () => splitSqlStatements(text),
      catch: (cause) => fail(`${fileName}: ${(cause as Error).message}`, cause)
    })
    files.push({
      id: Number(match[1]),
      name: match[2]!,
      fileName,
      sha256: createHash("sha256").update(text).digest("hex"),
      statements
    })
  }
  files.sort((a, b) => a.id - b.id)
  for (let i = 1; i < files.length; i++) {
    if (files[i]!.id === files[i - 1]!.id) {
      return yield* fail(`${files[i - 1]!.fileName} and ${files[i]!.fileName} have the same migration id`)
    }
  }
  return files as ReadonlyArray<MigrationFile>
})
