import { Effect } from "effect"
import type { Transactions } from "../Repositories/Transactions.ts"
import { MemoryStore } from "./MemoryStore.ts"

/**
 * `Transactions` on the `MemoryStore`: the repositories' writes inside `withTransaction` commit together or
 * not at all (failure, defect or interruption), and a nested call is a savepoint. It never fails with
 * `DatabaseUnavailable`.
 */
export const makeTransactionsMemory: Effect.Effect<Transactions["Service"], never, MemoryStore> = Effect.gen(
  function* () {
    const store = yield* MemoryStore
    return { withTransaction: store.transaction }
  }
)
