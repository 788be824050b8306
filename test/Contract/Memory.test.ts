import { MemoryDatabase } from "../../src/Database/Memory/MemoryDatabase.ts"
import { repositoryContract } from "./RepositoryContract.ts"

// The same suite as Postgres.test.ts, on the in-memory layers, with nothing skipped. What memory cannot
// match is outside the contract: microsecond timestamps and the server's clock (memory uses the Effect
// Clock, in milliseconds), DatabaseUnavailable (never raised), row-level locking (one lock per store, see
// MemoryStore) and text order under linguistic collations (memory orders like "C"). Text PostgreSQL cannot
// store as given (NUL, unpaired surrogates) is refused by the fronts, so both backends agree on it.
repositoryContract("in-memory", MemoryDatabase.layer)
