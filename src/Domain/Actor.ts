import { Context, Effect, Option } from "effect"
import type { UserId } from "./Ids.ts"

/**
 * Who is acting in the current fiber, recorded as `actor_id` in audit logs. `None` (the default) means the
 * system itself, e.g. migrations, jobs or bootstrap.
 */
export const CurrentActor = Context.Reference<Option.Option<UserId>>("platform-kernel/Domain/CurrentActor", {
  defaultValue: () => Option.none()
})

/** Runs `effect` as the user `actor`: its audit records name that user. */
export const withActor =
  (actor: UserId) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.provideService(effect, CurrentActor, Option.some(actor))

/** Runs `effect` as the system (no user): its audit records have no actor. */
export const asSystem = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.provideService(effect, CurrentActor, Option.none())
