/**
 * Issue 17: what a declared entity gets beyond the contract: findById batched like the kernel's, spans named
 * `<Entity>.<method>`, secret fields recorded as changed and never shown, calls that join a caller's
 * transaction with the kernel's repositories and raw SQL, ON DELETE SET NULL between two entities, and a
 * value the database refuses reported as InvalidInput naming its field.
 */
import { Buffer } from "node:buffer"
import { fileURLToPath } from "node:url"
import { assert, it, layer } from "@effect/vitest"
import { Context, DateTime, Effect, Exit, Layer, Redacted, Schema, Scope, Tracer } from "effect"
import { Model } from "effect/schema"
import { SqlClient } from "effect/sql"
import {
  ApiKeyRepository,
  type SessionId,
  SessionRepository
} from "../../../examples/auth-sessions/src/AuthEntities.ts"
import * as Entity from "../../../src/Database/Entity/EntityKit.ts"
import { MemoryDatabase } from "../../../src/Database/Memory/MemoryDatabase.ts"
import { AuditLogRepository } from "../../../src/Database/Repositories/AuditLogRepository.ts"
import { Transactions } from "../../../src/Database/Repositories/Transactions.ts"
import { UserRepository } from "../../../src/Database/Repositories/UserRepository.ts"
import { TestDatabase } from "../../../src/Database/Testing/TestDatabase.ts"
import type { UserId } from "../../../src/Domain/index.ts"
import { RepositoriesTestLayer } from "../../support/RepositoriesTestLayer.ts"
import { sessionsNamed } from "../../support/Sessions.ts"
import { recordStatements } from "../../support/StatementRecorder.ts"

const serviceMigrations = {
  directory: fileURLToPath(new URL("../../../examples/auth-sessions/migrations", import.meta.url)),
  table: "auth_migrations",
  schema: "auth"
}

let n = 0
const newUser = Effect.gen(function* () {
  const users = yield* UserRepository
  return yield* users.create({
    email: `entity${Date.now()}.${++n}@example.com`,
    passwordHash: Redacted.make("$argon2id$v=19$hash")
  })
})

const newSession = Effect.gen(function* () {
  const user = yield* newUser
  const sessions = yield* SessionRepository
  return yield* sessions.create({
    userId: user.id,
    tokenHash: `token-${Date.now()}-${++n}`,
    expiresAt: DateTime.makeUnsafe(Date.UTC(2030, 0, 1))
  })
})

const spanNames = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const names: Array<string> = []
    const tracer = Tracer.make({
      span(options) {
        names.push(options.name)
        return new Tracer.NativeSpan(options)
      }
    })
    yield* Effect.withTracer(effect, tracer)
    return names
  })

// The rules both stores keep: [name, test], run on both.
const shared: Array<readonly [string, Effect.Effect<void, unknown, Services>]> = []
type Services = SessionRepository | ApiKeyRepository | UserRepository | AuditLogRepository | Transactions
const both = (name: string, test: Effect.Effect<void, unknown, Services>) => shared.push([name, test])
{
  both(
    "a secret field is recorded as changed, never with its value",
    Effect.gen(function* () {
      const sessions = yield* SessionRepository
      const session = yield* newSession
      const updated = yield* sessions.update(session.id, { tokenHash: "rotated-secret-token" })
      assert.strictEqual(updated.tokenHash, "rotated-secret-token")
      const logs = (yield* (yield* AuditLogRepository).list({ targetId: session.id })).items
      const update = logs.find((log) => log.action === "auth.session.updated")
      assert.isDefined(update)
      assert.deepStrictEqual(update!.metadata, { changed: ["tokenHash"], before: {}, after: {} })
      const text = JSON.stringify(logs.map((log) => log.metadata))
      assert.notInclude(text, session.tokenHash)
      assert.notInclude(text, "rotated-secret-token")
    })
  )

  both(
    "a call joins the caller's transaction with the kernel's repositories: all roll back together",
    Effect.gen(function* () {
      const transactions = yield* Transactions
      const users = yield* UserRepository
      const sessions = yield* SessionRepository
      let sessionId: SessionId | undefined
      let userId: UserId | undefined
      const exit = yield* Effect.exit(
        transactions.withTransaction(
          Effect.gen(function* () {
            const session = yield* newSession
            sessionId = session.id
            userId = session.userId
            return yield* Effect.fail("rolled back" as const)
          })
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual((yield* Effect.flip(sessions.findById(sessionId!)))._tag, "SessionNotFound")
      assert.strictEqual((yield* Effect.flip(users.findById(userId!)))._tag, "UserNotFound")
    })
  )

  both(
    "a forged cursor is InvalidInput, never a statement the server refuses",
    Effect.gen(function* () {
      const sessions = yield* SessionRepository
      const cursorOf = (key: ReadonlyArray<string>) => Buffer.from(JSON.stringify(key)).toString("base64url")
      const id = "0190f2a4-7b1c-7d3e-8f40-123456789abc"
      for (const key of [
        ["-271821-04-20T00:00:00.000Z", id], // before PostgreSQL's first timestamp
        ["2026-01-01", id], // not what a page writes
        ["2026-01-01T00:00:00.000Z", "not-a-uuid"],
        ["2026-01-01T00:00:00.000Z"]
      ]) {
        const error = yield* Effect.flip(sessions.list({ cursor: cursorOf(key) }))
        assert.strictEqual(error._tag, "InvalidInput")
        assert.strictEqual(error._tag === "InvalidInput" ? error.field : "", "cursor")
      }
      // A time before PostgreSQL's first, as a value or a filter, is refused by both stores too.
      const user = yield* newUser
      const ancient = DateTime.makeUnsafe(-250_000_000_000_000)
      const tooOld = yield* Effect.flip(sessions.create({ userId: user.id, tokenHash: "ancient", expiresAt: ancient }))
      assert.strictEqual(tooOld._tag === "InvalidInput" ? tooOld.field : tooOld._tag, "expiresAt")
      const valid = yield* sessions.list({ cursor: cursorOf(["2026-01-01T00:00:00.000Z", id]) })
      assert.isArray(valid.items)
    })
  )

  both(
    "deleting a session clears the api keys made in it (ON DELETE SET NULL)",
    Effect.gen(function* () {
      const sessions = yield* SessionRepository
      const keys = yield* ApiKeyRepository
      const session = yield* newSession
      const key = yield* keys.create({ userId: session.userId, name: "ci", sessionId: session.id })
      yield* sessions.delete(session.id)
      assert.strictEqual((yield* keys.findById(key.id)).sessionId, null)
    })
  )

  both(
    "an update stamps updatedAt and keeps createdAt; the composite key is found by its fields",
    Effect.gen(function* () {
      const keys = yield* ApiKeyRepository
      const user = yield* newUser
      const key = yield* keys.create({ userId: user.id, name: "deploy", sessionId: null })
      const renamed = yield* keys.update(key.id, { name: "deploy-2" })
      assert.deepStrictEqual(renamed.createdAt, key.createdAt)
      assert.isTrue(DateTime.toEpochMillis(renamed.updatedAt) >= DateTime.toEpochMillis(key.updatedAt))
      assert.deepStrictEqual(yield* keys.findByNameOfUser({ userId: user.id, name: "deploy-2" }), renamed)
      const missing = yield* Effect.flip(keys.findByNameOfUser({ userId: user.id, name: "deploy" }))
      assert.strictEqual(missing._tag, "ApiKeyNotFound")
      const invalid = yield* Effect.flip(keys.create({ userId: user.id, name: "", sessionId: null }))
      assert.strictEqual(invalid._tag, "InvalidInput")
      assert.strictEqual(invalid._tag === "InvalidInput" ? invalid.field : "", "name")
    })
  )
}

const Entities = Layer.mergeAll(SessionRepository.layerMemory, ApiKeyRepository.layerMemory)
layer(Entities.pipe(Layer.provideMerge(MemoryDatabase.layer)))("entities in memory", (it) => {
  for (const [name, test] of shared) it.effect(name, () => test)
})

layer(
  Layer.mergeAll(SessionRepository.layer, ApiKeyRepository.layer).pipe(
    Layer.provideMerge(TestDatabase.layer({ serviceMigrations }))
  ),
  { timeout: "60 seconds" }
)("entities on PostgreSQL", (it) => {
  for (const [name, test] of shared) it.effect(name, () => test)

  it.effect("concurrent findById calls share statements; each caller gets its own row", () =>
    Effect.gen(function* () {
      const sessions = yield* SessionRepository
      const created = yield* Effect.forEach(Array.from({ length: 8 }), () => newSession)
      const [found, statements] = yield* recordStatements(
        Effect.forEach(created, (session) => sessions.findById(session.id), { concurrency: "unbounded" })
      )
      assert.deepStrictEqual(found, created)
      assert.isBelow(statements.length, created.length, statements.join("\n---\n"))
    })
  )

  it.effect("each method is a span named <Entity>.<method>", () =>
    Effect.gen(function* () {
      const sessions = yield* SessionRepository
      const session = yield* newSession
      const names = yield* spanNames(
        Effect.andThen(sessions.findById(session.id), sessions.findByTokenHash(session.tokenHash))
      )
      assert.includeMembers(names, ["Session.findById", "Session.findByTokenHash"])
    })
  )

  it.effect("raw SqlClient statements join the same transaction", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const sessions = yield* SessionRepository
      const session = yield* newSession
      yield* Effect.exit(
        sql.withTransaction(
          Effect.gen(function* () {
            yield* sessions.delete(session.id)
            const [row] = yield* sql<{ readonly count: number }>`SELECT count(*)::int AS count FROM auth.sessions
              WHERE id = ${session.id}`
            assert.strictEqual(row!.count, 0)
            return yield* Effect.fail("undo")
          })
        )
      )
      assert.deepStrictEqual(yield* sessions.findById(session.id), session)
    })
  )
})

// A value only the database refuses (a CHECK) is InvalidInput naming its field, and writes nothing.
const NoteId = Schema.String.pipe(Schema.check(Schema.isUUID()), Schema.brand("NoteId"))
class Note extends Model.Class<Note>("Note")({ id: NoteId, body: Schema.String }) {}
class NoteNotFound extends Schema.TaggedError<NoteNotFound>()("NoteNotFound", Entity.NotFoundFields) {}
const Notes = Entity.make(Note, { table: "kit_notes", notFound: NoteNotFound })
class NoteRepository extends Entity.Repository<NoteRepository>()("test/NoteRepository", Notes) {}

it.effect("a CHECK violation is InvalidInput naming the column's field", () =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE kit_notes (id uuid PRIMARY KEY, body text NOT NULL CHECK (length(body) < 10))`
    const notes = yield* Effect.provide(
      Effect.gen(function* () {
        return yield* NoteRepository
      }),
      NoteRepository.layer
    )
    const error = yield* Effect.flip(notes.create({ body: "far too long for the check" }))
    assert.strictEqual(error._tag, "InvalidInput")
    assert.strictEqual(error._tag === "InvalidInput" ? error.field : "", "body")
    assert.strictEqual((yield* notes.list()).items.length, 0)
  }).pipe(Effect.provide(TestDatabase.layer()))
)

// ON DELETE RESTRICT between two entities: the delete is refused with RowStillReferenced, on both stores.
const FolderId = Schema.String.pipe(Schema.check(Schema.isUUID()), Schema.brand("FolderId"))
class Folder extends Model.Class<Folder>("Folder")({ id: FolderId, name: Schema.String }) {}
class FolderNotFound extends Schema.TaggedError<FolderNotFound>()("FolderNotFound", Entity.NotFoundFields) {}
const Folders = Entity.make(Folder, { table: "kit_folders", notFound: FolderNotFound })
class FolderRepository extends Entity.Repository<FolderRepository>()("test/FolderRepository", Folders) {}
class File extends Model.Class<File>("File")({ id: FolderId, folderId: FolderId, name: Schema.String }) {}
class FileNotFound extends Schema.TaggedError<FileNotFound>()("FileNotFound", Entity.NotFoundFields) {}
const Files = Entity.make(File, {
  table: "kit_files",
  notFound: FileNotFound,
  references: { folderId: { to: Folders, onDelete: "restrict" } }
})
class FileRepository extends Entity.Repository<FileRepository>()("test/FileRepository", Files) {}

const restricts = Effect.gen(function* () {
  const folders = yield* FolderRepository
  const files = yield* FileRepository
  const folder = yield* folders.create({ name: "docs" })
  const file = yield* files.create({ folderId: folder.id, name: "a.txt" })
  const refused = yield* Effect.flip(folders.delete(folder.id))
  assert.strictEqual(refused._tag, "RowStillReferenced")
  assert.deepStrictEqual(yield* folders.findById(folder.id), folder)
  // A folder id that names no folder (the file's own id).
  const missing = yield* Effect.flip(files.create({ folderId: file.id, name: "b" }))
  assert.strictEqual(missing._tag, "FolderNotFound")
  yield* files.delete(file.id)
  yield* folders.delete(folder.id)
})

it.effect("ON DELETE RESTRICT refuses the delete with RowStillReferenced, in memory", () =>
  restricts.pipe(
    Effect.provide(
      Layer.mergeAll(FolderRepository.layerMemory, FileRepository.layerMemory).pipe(
        Layer.provideMerge(MemoryDatabase.layer)
      )
    )
  )
)

it.effect("ON DELETE RESTRICT refuses the delete with RowStillReferenced, on PostgreSQL", () =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE kit_folders (id uuid PRIMARY KEY, name text NOT NULL)`
    yield* sql`CREATE TABLE kit_files (id uuid PRIMARY KEY, folder_id uuid NOT NULL REFERENCES kit_folders ON DELETE RESTRICT,
      name text NOT NULL)`
    yield* Effect.provide(restricts, Layer.mergeAll(FolderRepository.layer, FileRepository.layer))
  }).pipe(Effect.provide(TestDatabase.layer()))
)

// A column the database fills (select only, `DEFAULT now()`): the memory store fills it as now() would.
class Memo extends Model.Class<Memo>("Memo")({
  id: NoteId,
  body: Schema.String,
  createdAt: Model.Field({ select: Schema.DateTimeUtcFromDate, json: Schema.DateTimeUtcFromString })
}) {}
class MemoNotFound extends Schema.TaggedError<MemoNotFound>()("MemoNotFound", Entity.NotFoundFields) {}
class MemoRepository extends Entity.Repository<MemoRepository>()(
  "test/MemoRepository",
  Entity.make(Memo, { table: "kit_memos", notFound: MemoNotFound })
) {}

const stampsCreatedAt = Effect.gen(function* () {
  const memos = yield* MemoRepository
  const before = yield* DateTime.now
  const memo = yield* memos.create({ body: "hello" })
  assert.isTrue(DateTime.toEpochMillis(memo.createdAt) >= DateTime.toEpochMillis(before) - 1000)
  assert.deepStrictEqual(yield* memos.findById(memo.id), memo)
})

it.live("a column the database makes is filled by the database, and by memory as now() would", () =>
  Effect.gen(function* () {
    yield* stampsCreatedAt.pipe(
      Effect.provide(MemoRepository.layerMemory.pipe(Layer.provideMerge(MemoryDatabase.layer)))
    )
    yield* Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(Entity.createTableSql(MemoRepository.entity))
      yield* stampsCreatedAt.pipe(Effect.provide(MemoRepository.layer))
    }).pipe(Effect.provide(TestDatabase.layer()))
  })
)

// The PostgreSQL repository's resources (its audit writer, the pool it uses) go with the layer's scope.
it.live("closing the layers leaves no session of theirs on the server", () =>
  Effect.gen(function* () {
    const applicationName = `pk-entity-${Date.now().toString(36)}`
    const scope = yield* Scope.make()
    const kernel = yield* Layer.buildWithScope(
      RepositoriesTestLayer({ DATABASE_APPLICATION_NAME: applicationName }),
      scope
    )
    yield* Effect.gen(function* () {
      yield* (yield* SqlClient.SqlClient).unsafe(Entity.createTableSql(MemoRepository.entity))
    }).pipe(Effect.provideContext(kernel))
    const memos = yield* Layer.buildWithScope(MemoRepository.layer, scope).pipe(Effect.provideContext(kernel))
    yield* Context.get(memos, MemoRepository).create({ body: "audited in a transaction" })
    assert.isAbove(yield* sessionsNamed(applicationName), 0)
    yield* Scope.close(scope, Exit.void)
    assert.strictEqual(yield* sessionsNamed(applicationName), 0)
  })
)
