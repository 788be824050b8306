import { Effect, Layer, Schema } from "effect"
import { AppConfig } from "../../Config/AppConfig.ts"
import type { AppConfigValues } from "../../Config/ConfigSchema.ts"
import { asSystem } from "../../Domain/index.ts"
import { RoleRepository } from "../Repositories/RoleRepository.ts"
import { Transactions } from "../Repositories/Transactions.ts"

/** A role or permission of `rbac.roles` the repositories refused. */
export class RbacBaselineError extends Schema.TaggedError<RbacBaselineError>()("RbacBaselineError", {
  message: Schema.String
}) {}

/** The `rbac.roles` baseline: each role with its description and permission names. */
export type RbacRoles = AppConfigValues["rbac"]["roles"]

/**
 * Makes the configured baseline roles and their permissions exist, idempotently, with
 * `RoleRepository.ensureWithPermissions`: existing roles and permissions are kept as they are and existing
 * grants are not repeated, so a second run changes nothing and writes no audit record. One transaction: a
 * bad entry leaves nothing half-applied.
 */
export const apply = Effect.fn("RbacBaseline.apply")(function* (roles: RbacRoles) {
  if (roles.length === 0) return
  const roleRepository = yield* RoleRepository
  const transactions = yield* Transactions
  yield* transactions.withTransaction(
    Effect.forEach(
      roles,
      (entry, index) =>
        roleRepository
          .ensureWithPermissions(entry)
          .pipe(
            Effect.catchTag("InvalidInput", (error) =>
              Effect.fail(new RbacBaselineError({ message: `rbac.roles[${index}] (${entry.name}): ${error.message}` }))
            )
          ),
      { discard: true }
    )
  )
  yield* Effect.logInfo("rbac baseline applied").pipe(Effect.annotateLogs({ roles: roles.length }))
}, asSystem)

/** Applies `rbac.roles` from the configuration when built. */
export const layer: Layer.Layer<
  never,
  Effect.Error<ReturnType<typeof apply>>,
  AppConfig | Effect.Services<ReturnType<typeof apply>>
> = Layer.effectDiscard(
  Effect.gen(function* () {
    const config = yield* AppConfig
    yield* apply(config.rbac.roles)
  })
)
