import { Context, Effect, Layer, type Redacted } from "effect"
import {
  type DatabaseUnavailable,
  type EmailAlreadyTaken,
  type InvalidInput,
  PlatformKernel,
  RoleRepository,
  Transactions,
  type User,
  UserRepository
} from "platform-kernel"
import { MemoryDatabase } from "platform-kernel/testing"

// A platform service built on the kernel's repositories: it depends on the services, not on PostgreSQL.
export class Onboarding extends Context.Service<
  Onboarding,
  {
    readonly register: (
      email: string,
      passwordHash: Redacted.Redacted<string>
    ) => Effect.Effect<User, InvalidInput | EmailAlreadyTaken | DatabaseUnavailable>
  }
>()("example/Onboarding") {
  static readonly layer = Layer.effect(
    Onboarding,
    Effect.gen(function* () {
      const users = yield* UserRepository
      const roles = yield* RoleRepository
      const transactions = yield* Transactions
      const register = Effect.fn("Onboarding.register")((email: string, passwordHash: Redacted.Redacted<string>) =>
        // The user, its role and both audit records commit together, or not at all.
        transactions.withTransaction(
          Effect.gen(function* () {
            const user = yield* users.create({ email, passwordHash })
            const member = yield* roles.ensure({ name: "member" })
            // Both exist, so NotFound would be a bug; DatabaseUnavailable stays typed (a 503, not a 500).
            yield* users
              .assignRole(user.id, member.id)
              .pipe(Effect.catchTag(["UserNotFound", "RoleNotFound"], Effect.die))
            return user
          })
        )
      )
      return Onboarding.of({ register })
    })
  )

  // Production: config/default.yaml + environment -> PostgreSQL (embedded when none is configured)
  // -> migrations -> repositories. Every service that provides PlatformKernel.layer shares one instance.
  // Closing the scope closes the pool and stops an embedded server.
  static readonly layerLive = Onboarding.layer.pipe(Layer.provide(PlatformKernel.layer))

  // Tests: the same service on in-memory repositories that pass the PostgreSQL contract suite.
  static readonly layerTest = Onboarding.layer.pipe(Layer.provide(MemoryDatabase.layer))
}
