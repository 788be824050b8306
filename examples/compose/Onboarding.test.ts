import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { UserRepository } from "platform-kernel"
import { MemoryDatabase } from "platform-kernel/testing"
import { Onboarding } from "./Onboarding.ts"

describe("the README's samples", () => {
  it.each(["Onboarding.ts", "Testing.test.ts"])("is %s, word for word", (file) => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8")
    const sample = readFileSync(new URL(`./${file}`, import.meta.url), "utf8")
    assert.include(readme, `\`\`\`ts\n${sample}\`\`\``)
  })

  it.effect("registers a member, on the in-memory layers", () =>
    Effect.gen(function* () {
      const onboarding = yield* Onboarding
      const users = yield* UserRepository
      const user = yield* onboarding.register("New.Member@Example.com", Redacted.make("$argon2id$v=19$hash"))
      assert.strictEqual(user.email, "new.member@example.com")
      const roles = yield* users.rolesOf(user.id)
      assert.deepStrictEqual(
        roles.map((role) => role.name),
        ["member"]
      )
    }).pipe(Effect.provide(Onboarding.layer.pipe(Layer.provideMerge(MemoryDatabase.layer))))
  )
})
