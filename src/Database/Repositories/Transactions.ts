import { Context, type Effect, Layer } from "effect"
import type { DatabaseUnavailable } from "../../Domain/index.ts"
import { makeTransactionsMemory } from "../Memory/TransactionsMemory.ts"
import { makeTransactionsPg } from "../Postgres/TransactionsPg.ts"

/**
 * Runs several repository calls as one transaction: all of them commit, or none does (a failure, a defect
 * or an interruption rolls everything back). Nested calls are savepoints.
 */
export class Transactions extends Context.Service<
  Transactions,
  {
    readonly withTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | DatabaseUnavailable, R>
  }
>()("platform-kernel/Database/Transactions") {
  static readonly layer = Layer.effect(Transactions, makeTransactionsPg)
  /** In memory, on the `MemoryStore` (see `MemoryDatabase.layer` for all repositories on one fresh store). */
  static readonly layerMemory = Layer.effect(Transactions, makeTransactionsMemory)
}
