import { Effect, HashMap, Layer } from "effect"
import { MemoryDatabase } from "../../src/Database/Memory/MemoryDatabase.ts"
import { MemoryStore } from "../../src/Database/Memory/MemoryStore.ts"
import { hostileInputSuite, RowCounts } from "./HostileSuite.ts"

// The rows of every table as the calling fiber sees them (its open transaction's).
const countRows = Layer.effect(
  RowCounts,
  Effect.map(MemoryStore, (store) =>
    Effect.map(store.read, (tables) =>
      Object.fromEntries(Object.entries(tables).map(([table, rows]) => [table, HashMap.size(rows)]))
    )
  )
)

hostileInputSuite("in-memory", countRows.pipe(Layer.provideMerge(MemoryDatabase.layer)))
