import { fileURLToPath } from "node:url"
import { layer } from "@effect/vitest"
import { DateTime, Effect, Layer, Redacted } from "effect"
import { UserRepository } from "platform-kernel"
import { entityContract, MemoryDatabase, TestDatabase } from "platform-kernel/testing"
import { ApiKeyRepository, SessionRepository } from "../src/AuthEntities.ts"

// The kit's contract on the service's two entities, in memory and on a migrated PostgreSQL database.

const serviceMigrations = {
  directory: fileURLToPath(new URL("../migrations", import.meta.url)),
  table: "auth_migrations",
  schema: "auth"
}

const newUser = (n: number) =>
  Effect.gen(function* () {
    const users = yield* UserRepository
    return yield* users.create({ email: `user${n}@example.com`, passwordHash: Redacted.make("$argon2id$v=19$hash") })
  })

const session = (n: number) =>
  Effect.map(newUser(n), (user) => ({
    userId: user.id,
    tokenHash: `token-${n}`,
    expiresAt: DateTime.makeUnsafe(Date.UTC(2030, 0, 1) + n)
  }))

const apiKey = (n: number) => Effect.map(newUser(n), (user) => ({ userId: user.id, name: `key ${n}`, sessionId: null }))

const contracts = [
  ...entityContract(SessionRepository, { sample: session }),
  ...entityContract(ApiKeyRepository, { sample: apiKey, patch: (row) => ({ name: `${row.name} renamed` }) })
]

const Entities = Layer.mergeAll(SessionRepository.layerMemory, ApiKeyRepository.layerMemory)

layer(Entities.pipe(Layer.provideMerge(MemoryDatabase.layer)))("in memory", (it) => {
  for (const { name, test } of contracts) it.effect(name, () => test)
})

layer(
  Layer.mergeAll(SessionRepository.layer, ApiKeyRepository.layer).pipe(
    Layer.provideMerge(TestDatabase.layer({ serviceMigrations }))
  ),
  { timeout: "60 seconds" }
)("on PostgreSQL", (it) => {
  for (const { name, test } of contracts) it.effect(name, () => test)
})
