/**
 * `PlatformKernel.layer` and `PlatformKernel.layerWith` as a consumer composes them: one shared value is one
 * pool; each configured instance honours its own options (database, `log.*`, `rbac.roles`).
 */
import { randomBytes } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { PlatformKernel, RoleRepository, type User, UserRepository } from "../../src/index.ts"
import { withAdmin } from "../support/adminClient.ts"
import { eventually } from "../support/Eventually.ts"
import { runScript, sourcePath } from "../support/NodeScript.ts"
import { sessionsNamed } from "../support/Sessions.ts"
import { scopedDatabase } from "../support/TestDatabase.ts"

const unique = () => randomBytes(5).toString("hex")

// Two services of a consumer, each needing UserRepository: one writes users, the other reads them.
class Signup extends Context.Service<Signup, { readonly register: (email: string) => Effect.Effect<User, unknown> }>()(
  "test/Signup"
) {
  static readonly layer = Layer.effect(
    Signup,
    Effect.gen(function* () {
      const users = yield* UserRepository
      return Signup.of({ register: (email) => users.create({ email, passwordHash: Redacted.make("hash") }) })
    })
  )
}

class Directory extends Context.Service<
  Directory,
  { readonly has: (email: string) => Effect.Effect<boolean, unknown> }
>()("test/Directory") {
  static readonly layer = Layer.effect(
    Directory,
    Effect.gen(function* () {
      const users = yield* UserRepository
      return Directory.of({
        has: (email) =>
          users.findByEmail(email).pipe(
            Effect.as(true),
            Effect.catchTag("UserNotFound", () => Effect.succeed(false))
          )
      })
    })
  )
}

/** `env` in `process.env` for the current scope (`PlatformKernel.layer` reads it when built), restored after. */
const processEnv = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]))
      Object.assign(process.env, env)
      return saved
    }),
    (saved) =>
      Effect.sync(() => {
        for (const [key, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[key]
          else process.env[key] = value
        }
      })
  )

const emailsIn = (databaseUrl: string) =>
  withAdmin(databaseUrl, (sql) =>
    Effect.map(sql<{ readonly email: string }>`SELECT email::text AS email FROM users`, (rows) =>
      rows.map((row) => row.email)
    )
  ).pipe(Effect.orDie)

describe("PlatformKernel", () => {
  it.live("is one pool for every service that provides the same PlatformKernel.layer value", () =>
    Effect.gen(function* () {
      const database = yield* scopedDatabase({ from: "template" })
      const applicationName = `pk-shared-${unique()}`
      // One connection per pool at most, so the sessions on the server count the pools.
      yield* processEnv({
        DATABASE_URL: database.url,
        DATABASE_APPLICATION_NAME: applicationName,
        DATABASE_POOL_MIN_CONNECTIONS: "1",
        DATABASE_POOL_MAX_CONNECTIONS: "1",
        LOG_LEVEL: "warn"
      })
      const poolsOf = (signup: Layer.Layer<Signup, unknown>, directory: Layer.Layer<Directory, unknown>) =>
        Effect.scoped(
          Effect.gen(function* () {
            const context = yield* Layer.build(Layer.mergeAll(signup, directory))
            const email = `${unique()}@example.io`
            yield* Context.get(context, Signup).register(email)
            assert.isTrue(yield* Context.get(context, Directory).has(email))
            return yield* sessionsNamed(applicationName)
          })
        )

      const shared = yield* poolsOf(
        Signup.layer.pipe(Layer.provide(PlatformKernel.layer)),
        Directory.layer.pipe(Layer.provide(PlatformKernel.layer))
      )
      assert.strictEqual(shared, 1)
      assert.strictEqual(yield* eventually(sessionsNamed(applicationName), (count) => count === 0), 0)
      // Each call of layerWith is an instance of its own: two calls, two pools.
      const separate = yield* poolsOf(
        Signup.layer.pipe(Layer.provide(PlatformKernel.layerWith())),
        Directory.layer.pipe(Layer.provide(PlatformKernel.layerWith()))
      )
      assert.strictEqual(separate, 2)
    }).pipe(Effect.scoped)
  )

  // Before the redesign the kernel layer was a function whose inner layers (the database and repository layers)
  // were module constants. Effect memoises a layer by reference across a whole graph, so the second instance was
  // given the first one's pool, on the first one's database, whatever its options said: the user registered
  // through A was then found in B. layerWith builds each instance from its own options alone (Layer.fresh).
  it.live("gives two configured instances in one graph two databases", () =>
    Effect.gen(function* () {
      const a = yield* scopedDatabase({ from: "template" })
      const b = yield* scopedDatabase({ from: "template" })
      const kernelOn = (url: string) =>
        PlatformKernel.layerWith({ config: { env: { DATABASE_URL: url, LOG_LEVEL: "warn" } } })
      const graph = Layer.mergeAll(
        Signup.layer.pipe(Layer.provide(kernelOn(a.url))),
        Directory.layer.pipe(Layer.provide(kernelOn(b.url)))
      )
      const email = `${unique()}@example.io`
      const foundInB = yield* Effect.gen(function* () {
        yield* (yield* Signup).register(email)
        return yield* (yield* Directory).has(email)
      }).pipe(Effect.provide(graph))
      assert.isFalse(foundInB)
      assert.deepStrictEqual(yield* emailsIn(a.url), [email])
      assert.deepStrictEqual(yield* emailsIn(b.url), [])
    }).pipe(Effect.scoped)
  )

  it.live("applies rbac.roles when built (and not with rbacBaseline: false)", () =>
    Effect.gen(function* () {
      const roles = JSON.stringify([{ name: "auditor", permissions: ["iam.audit.read", "iam.audit.export"] }])
      const auditor = (options: Pick<PlatformKernel.Options, "rbacBaseline">) =>
        Effect.gen(function* () {
          const database = yield* scopedDatabase({ from: "template" })
          return yield* RoleRepository.use((repository) =>
            repository.findByName("auditor").pipe(
              Effect.flatMap((role) => repository.permissionsOf(role.id)),
              Effect.map((permissions) => permissions.map((permission) => permission.name).toSorted()),
              Effect.catchTag("RoleNotFound", () => Effect.succeed(null))
            )
          ).pipe(
            Effect.provide(
              PlatformKernel.layerWith({
                ...options,
                config: { env: { DATABASE_URL: database.url, LOG_LEVEL: "warn", RBAC_ROLES: roles } }
              })
            )
          )
        }).pipe(Effect.scoped)
      assert.deepStrictEqual(yield* auditor({}), ["iam.audit.export", "iam.audit.read"])
      assert.isNull(yield* auditor({ rbacBaseline: false }))
    })
  )

  it.live("(SLOW: 2 processes) logs as log.level and log.format say, the consumer's own lines included", () =>
    Effect.gen(function* () {
      const database = yield* scopedDatabase({ from: "template" })
      const consumer = `
        import { Effect } from "effect"
        const { PlatformKernel, UserRepository } = await import(${sourcePath("src/index.ts")})
        await Effect.runPromise(Effect.gen(function* () {
          yield* (yield* UserRepository).list({})
          yield* Effect.logInfo("consumer info")
          yield* Effect.logError("consumer error")
        }).pipe(Effect.provide(PlatformKernel.layer)))`
      const run = (env: Record<string, string>) =>
        Effect.promise(() => runScript(consumer, { env: { DATABASE_URL: database.url, ...env } }))

      const quiet = yield* run({ LOG_LEVEL: "error" })
      assert.strictEqual(quiet.code, 0, quiet.stderr)
      const quietLines = `${quiet.stdout}${quiet.stderr}`.split("\n").filter((line) => line.trim() !== "")
      assert.lengthOf(quietLines, 1, quietLines.join("\n"))
      assert.match(quietLines[0]!, /level=ERROR .*message="consumer error"/)

      // The same consumer at info, as JSON: the kernel's lines and its own, one object per line.
      const json = yield* run({ LOG_LEVEL: "info", LOG_FORMAT: "json" })
      assert.strictEqual(json.code, 0, json.stderr)
      const lines = json.stdout.split("\n").filter((line) => line.trim() !== "")
      const messages = lines.map((line) => (JSON.parse(line) as { readonly message: unknown }).message)
      assert.includeMembers(messages, ["database connected", "consumer info", "consumer error"])
    }).pipe(Effect.scoped)
  )
})
