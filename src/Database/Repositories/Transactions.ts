import { Context, type Effect } from "effect"
import type { DatabaseUnavailable } from "../../Domain/index.ts"

/**
 * Runs several repository calls as one transaction: all of them commit, or none does (a failure, a defect
 * or an interruption rolls everything back). Nested calls are savepoints.
 */
export class Transactions extends Context.Service<
  Transactions,
  {
    readonly withTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | DatabaseUnavailable, R>
  }
>()("platform-kernel/Database/Transactions") {}
