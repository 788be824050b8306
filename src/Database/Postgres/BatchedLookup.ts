import { Array as Arr, Context, Effect, Exit, Option, Request, RequestResolver } from "effect"
import type { SqlClient } from "effect/sql"
import { ReadYourWrites, WrittenPosition } from "../Topology/ReadYourWrites.ts"

/** The lookups that can be batched (UserStorePg.ts). */
export const BatchedLookups = ["findById", "findByEmail", "hasPermission", "findWithAccess"] as const
export type BatchedLookupName = (typeof BatchedLookups)[number]

/**
 * Which lookups are batched, decided per statement (issue 18): batching pays where one statement over an
 * array of keys costs the server much less than one per caller (a point read: at 32 callers findById 2.8×,
 * findByEmail 1.6×, hasPermission 1.7× the throughput of raw effect/sql's one statement per caller, on a
 * quiet machine), and not where the statement's own work dominates: findWithAccess builds a json tree per
 * user, and batched at 32 callers it ran at 0.82× raw. Read once, when the store is built.
 */
export const DefaultLookupBatching: Readonly<Record<BatchedLookupName, boolean>> = {
  findById: true,
  findByEmail: true,
  hasPermission: true,
  findWithAccess: false
}

/** The batching table in force; provide another to override it (a benchmark, a test). */
export const LookupBatching = Context.Reference<Readonly<Record<BatchedLookupName, boolean>>>(
  "platform-kernel/Database/Postgres/LookupBatching",
  { defaultValue: () => DefaultLookupBatching }
)

/** A row of a batched statement: `ord` is the 1-based position of the key it answers (`WITH ORDINALITY`). */
export interface OrdinalRow {
  readonly ord: unknown
}

interface Lookup<Key, A, E> extends Request.Request<Option.Option<A>, E> {
  readonly key: Key
}

/**
 * Concurrent lookups of one kind become one statement: `execute` gets the keys of every call made while the
 * calling fibers yield (no timer: a lone caller's batch runs at once) and answers them all, each row naming
 * the position of its key in `ord`, so every caller gets its own answer (`None` when no row names it).
 *
 * Calls inside a transaction are batched only with calls inside the same transaction, on its connection:
 * the batch key is the connection of `sql`'s transaction. The statement runs with the first caller's
 * services (as `SqlResolver` does), so its span and statement hooks are that caller's; its replica reads wait
 * for the latest write of any of its callers (read-your-writes).
 *
 * A lone caller does not pay for the batching machinery (a `Request`, its entry, the resolver's fiber): a
 * call made while no other call of this lookup is in flight runs `executeOne` directly in its own fiber.
 * Calls that start while one is in flight go through the resolver and are batched with each other. With
 * `batched: false` every call runs `executeOne` directly (one statement per caller).
 */
export const batchedLookup = <Key, Row extends OrdinalRow, A, ExecuteError, DecodeError>(
  sql: SqlClient.SqlClient,
  options: {
    readonly execute: (keys: Arr.NonEmptyReadonlyArray<Key>) => Effect.Effect<ReadonlyArray<Row>, ExecuteError>
    /**
     * The statement for a batch of one key (its rows with `ord` 1). A statement over an array parameter is
     * planned afresh at every execution (PostgreSQL cannot size the array in a generic plan, so it keeps
     * custom plans), which costs a lone caller more than the lookup itself; a scalar one is planned once.
     */
    readonly executeOne: (key: Key) => Effect.Effect<ReadonlyArray<Row>, ExecuteError>
    /** Turns a row into the answer of its caller; a failure fails that caller only. */
    readonly decode: (row: Row) => Effect.Effect<A, DecodeError>
    /** False: no batching at all (see `LookupBatching`). Default true. */
    readonly batched?: boolean | undefined
  }
): ((key: Key) => Effect.Effect<Option.Option<A>, ExecuteError | DecodeError>) => {
  type E = ExecuteError | DecodeError
  const { executeOne, decode } = options
  const decodeFirst = (rows: ReadonlyArray<Row>): Effect.Effect<Option.Option<A>, E> =>
    rows.length === 0 ? Effect.succeedNone : Effect.map(decode(rows[0]!), Option.some)
  const direct = (key: Key) => Effect.flatMap(executeOne(key), decodeFirst)
  if (options.batched === false) return direct
  const transactionOf = (entry: Request.Entry<Lookup<Key, A, E>>) =>
    Context.getOrUndefined(entry.context, sql.transactionService)?.[0]

  // The batch runs in its first caller's context, but answers every caller: a replica read of it must wait for
  // the latest write of any of them (read-your-writes), not only the first's.
  const withLatestWrite = <B, E2>(
    entries: Arr.NonEmptyArray<Request.Entry<Lookup<Key, A, E>>>,
    statement: Effect.Effect<B, E2>
  ): Effect.Effect<B, E2> => {
    let latest: bigint | undefined
    for (const entry of entries) {
      const position = Context.get(entry.context, ReadYourWrites).position
      if (position !== undefined && (latest === undefined || position > latest)) latest = position
    }
    return latest === Context.get(entries[0].context, ReadYourWrites).position
      ? statement
      : Effect.provideService(statement, ReadYourWrites, new WrittenPosition(latest))
  }

  const answer = (entries: Arr.NonEmptyArray<Request.Entry<Lookup<Key, A, E>>>, rows: ReadonlyArray<Row>) =>
    Effect.gen(function* () {
      const answered = new Array<boolean>(entries.length).fill(false)
      for (const row of rows) {
        const index = Number(row.ord) - 1
        const entry = entries[index]
        if (entry === undefined || answered[index]) continue
        answered[index] = true
        entry.completeUnsafe(Exit.map(yield* Effect.exit(options.decode(row)), Option.some))
      }
      for (let index = 0; index < entries.length; index++) {
        if (!answered[index]) entries[index]!.completeUnsafe(Exit.succeed(Option.none()))
      }
    })

  const resolver = RequestResolver.makeWith<Lookup<Key, A, E>>({
    // By reference: a plain Map of batches, one per transaction connection (undefined outside any).
    batchKey: transactionOf,
    delay: Effect.yieldNow,
    collectWhile: () => true,
    // Runs in a fiber forked with the first caller's services (so on its transaction's connection, if any);
    // a failure of the statement fails every caller of the batch.
    runAll: (entries) =>
      Effect.flatMap(
        entries.length === 1
          ? options.executeOne(entries[0].request.key)
          : withLatestWrite(entries, options.execute(Arr.map(entries, (entry) => entry.request.key))),
        (rows) => answer(entries, rows)
      )
  })

  const lookup = Request.of<Lookup<Key, A, E>>()
  // Calls of this lookup started and not yet ended, in this process.
  let inFlight = 0
  const ended = Effect.sync(() => {
    inFlight--
  })
  return (key) =>
    Effect.suspend(() => {
      const alone = inFlight === 0
      inFlight++
      return Effect.ensuring(alone ? direct(key) : Effect.request(lookup({ key }), resolver), ended)
    })
}
