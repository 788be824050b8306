import { inspect } from "node:util"
import { assert, describe } from "@effect/vitest"
import { Effect, Logger, Redacted, References, Schema } from "effect"
import { RoleRepository } from "../../src/Database/Repositories/RoleRepository.ts"
import { UserRepository } from "../../src/Database/Repositories/UserRepository.ts"
import { User, UserWithAccess } from "../../src/Domain/index.ts"
import { expectFailure } from "../support/Expect.ts"
import { auditLogs, type ContractIt, makeHash, newRole, uniqueEmail } from "./Fixtures.ts"

const renderings = (value: unknown): ReadonlyArray<string> => [
  String(value),
  `${value}`,
  JSON.stringify(value) ?? "",
  inspect(value, { depth: 20 }),
  inspect({ wrapped: value }, { depth: 20 })
]

/** Every 8-character part of `secret`: a record must not hold even a part of a hash. */
const partsOf = (secret: string): ReadonlyArray<string> =>
  Array.from({ length: secret.length - 7 }, (_, start) => secret.slice(start, start + 8))

const assertHidden = (hash: string, value: unknown, what: string) => {
  for (const rendering of renderings(value)) assert.notInclude(rendering, hash, what)
}

export const secretContract = (it: ContractIt) =>
  describe("the password hash", () => {
    it.effect("never shows in a user's renderings, its json encoding, errors or audit metadata", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const roles = yield* RoleRepository
        const hash = makeHash()
        const text = Redacted.value(hash)
        const user = yield* users.create({ email: uniqueEmail(), passwordHash: hash })
        assert.strictEqual(Redacted.value(user.passwordHash), text, "stored as given")

        assertHidden(text, user, "user")
        assertHidden(text, yield* users.findById(user.id), "found user")
        const json = JSON.stringify(Schema.encodeSync(User.json)(user))
        assert.notInclude(json, text)
        assert.notInclude(json, "passwordHash")

        const role = yield* newRole()
        yield* users.assignRole(user.id, role.id)
        const access = yield* users.findWithAccess(user.id)
        assertHidden(text, access, "user with access")
        assert.notInclude(JSON.stringify(Schema.encodeSync(UserWithAccess.json)(access)), text)
        assertHidden(text, yield* users.list({ limit: 500 }), "page of users")

        const taken = yield* expectFailure(users.create({ email: user.email, passwordHash: hash }), "EmailAlreadyTaken")
        assertHidden(text, taken, "EmailAlreadyTaken")
        assertHidden(text, taken.message, "EmailAlreadyTaken message")
        const tooLong = Redacted.make(`${text}${"x".repeat(1100)}`)
        const invalid = yield* expectFailure(users.update(user.id, { passwordHash: tooLong }), "InvalidInput")
        assertHidden(text, invalid, "InvalidInput")
        assertHidden(text, invalid.message, "InvalidInput message")

        const otherHash = makeHash()
        yield* users.update(user.id, { passwordHash: otherHash })
        yield* users.removeRole(user.id, role.id)
        yield* users.delete(user.id)
        yield* roles.delete(role.id)
        const logs = [...(yield* auditLogs({ targetId: user.id })), ...(yield* auditLogs({ targetId: role.id }))]
        assert.include(
          logs.map((log): string => log.action),
          "user.password_changed",
          "the change is recorded, without the hash"
        )
        for (const log of logs) {
          for (const secret of [text, Redacted.value(otherHash)]) {
            for (const part of partsOf(secret)) assertHidden(part, log.metadata, `${log.action} metadata`)
          }
          assertHidden("SECRETHASH", log, "audit record")
        }
      })
    )

    it.effect("never shows in log output, JSON or logfmt, even at the most verbose level", () =>
      Effect.gen(function* () {
        const lines: Array<string> = []
        const record = (line: string) => {
          lines.push(line)
        }
        const capture = [
          Logger.map(Logger.formatJson, record),
          Logger.map(Logger.formatLogFmt, record),
          Logger.map(Logger.formatStructured, (entry) => record(inspect(entry, { depth: 20 })))
        ]
        const users = yield* UserRepository
        const hash = makeHash()
        const text = Redacted.value(hash)
        yield* Effect.gen(function* () {
          const user = yield* users.create({ email: uniqueEmail(), passwordHash: hash })
          yield* Effect.logInfo("created", user)
          yield* Effect.logDebug(yield* users.findWithAccess(user.id)).pipe(Effect.annotateLogs({ user }))
          yield* users.update(user.id, { passwordHash: makeHash() })
          yield* users.delete(user.id)
        }).pipe(Effect.provide(Logger.layer(capture)), Effect.provideService(References.MinimumLogLevel, "All"))
        assert.isAtLeast(lines.length, 6)
        for (const line of lines) assert.notInclude(line, text)
      })
    )
  })
