/**
 * Issue 18: `append` and `appendMany` validate their entries by hand when they are plainly valid, and by the schema
 * otherwise. Whatever the input, the answer must be the schema's: the same entries (keys, order, copied
 * metadata) or the same InvalidInput.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import fc from "fast-check"
import {
  decodeAuditEntries,
  decodeAuditEntriesBySchema,
  decodeAuditEntry,
  decodeAuditEntryBySchema
} from "../../../src/Database/Front/RepositoryInputs.ts"
import {
  anyText,
  idLike,
  inputLike,
  metadataLike,
  orHostile,
  token,
  volatileInputs
} from "../../Hostile/HostileInputs.ts"

const action = orHostile(
  fc.oneof(
    fc.constantFrom("user.created", "billing.invoice_paid"),
    fc.tuple(token, token).map(([a, b]) => `${a}.${b}`)
  )
)
const targetId = orHostile(fc.oneof(fc.constantFrom("target-1", " ", ""), anyText))
const actorId = fc.oneof(fc.constant(null), idLike(["0193f3a0-0000-7000-8000-000000000001"]))
const entry = inputLike({ action, targetId, metadata: metadataLike, actorId }, ["action"])
// Plain entries too, so that enough single entries are valid.
const singleEntry = fc.oneof(
  entry,
  fc.record(
    {
      action: fc.constantFrom("user.created", "billing.invoice_paid"),
      targetId: fc.constantFrom("target-1", undefined),
      metadata: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
    },
    { requiredKeys: ["action"] }
  )
)
const input = fc.oneof(
  { arbitrary: fc.record({ entries: fc.array(entry, { maxLength: 4 }) }), weight: 8 },
  fc.record({ entries: fc.array(fc.record({ action: fc.constant("a.b") }), { maxLength: 3 }) }),
  fc.constantFrom(undefined, null, {}, { entries: "x" }, [])
)

/** Whether `value` holds an object whose getters answer differently on each read (walked without reading any). */
const holdsVolatile = (value: unknown): boolean => {
  const pending = [value]
  const seen = new Set<unknown>()
  while (pending.length > 0) {
    const next = pending.pop()
    if (typeof next !== "object" || next === null || seen.has(next)) continue
    seen.add(next)
    if (volatileInputs.has(next)) return true
    try {
      for (const descriptor of Object.values(Object.getOwnPropertyDescriptors(next)))
        if ("value" in descriptor) pending.push(descriptor.value)
    } catch {
      // A Proxy that throws: nothing volatile behind it.
    }
  }
  return false
}

const outcome = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isSuccess(exit) ? { ok: exit.value } : { failed: Exit.isFailure(exit) ? String(exit.cause) : "" }

describe("decodeAuditEntries", () => {
  it("answers as the schema does, for valid and hostile inputs alike", () => {
    let valid = 0
    for (let seed = 1; seed <= 600; seed++) {
      // Two fresh copies of the same input: a getter that answers differently on its second read must not
      // see one decoder's read in the other's.
      const [mine] = fc.sample(input, { seed, numRuns: 1 })
      const [theirs] = fc.sample(input, { seed, numRuns: 1 })
      const byHand = outcome(Effect.runSyncExit(decodeAuditEntries(mine)))
      const bySchema = outcome(Effect.runSyncExit(decodeAuditEntriesBySchema(theirs)))
      // A getter read once by hand and again by the schema (after another entry sent the input there) may
      // answer something else the second time: still refused, but perhaps worded after the other answer.
      if (holdsVolatile(mine) && "failed" in bySchema) assert.property(byHand, "failed", `seed ${seed}`)
      else assert.deepStrictEqual(byHand, bySchema, `seed ${seed}`)
      if ("ok" in byHand) valid++
    }
    assert.isAbove(valid, 100, "enough valid inputs to compare the decoded entries")
  })

  it("answers one entry (append) as the schema does", () => {
    let valid = 0
    for (let seed = 1; seed <= 600; seed++) {
      const [mine] = fc.sample(singleEntry, { seed, numRuns: 1 })
      const [theirs] = fc.sample(singleEntry, { seed, numRuns: 1 })
      const byHand = outcome(Effect.runSyncExit(decodeAuditEntry(mine)))
      const bySchema = outcome(Effect.runSyncExit(decodeAuditEntryBySchema(theirs)))
      if (holdsVolatile(mine) && "failed" in bySchema) assert.property(byHand, "failed", `seed ${seed}`)
      else assert.deepStrictEqual(byHand, bySchema, `seed ${seed}`)
      if ("ok" in byHand) valid++
    }
    assert.isAbove(valid, 100, "enough valid entries to compare the decoded entries")
  })

  it("keeps only the entry's own fields, and copies the metadata", () => {
    const metadata = { note: "n", list: [1, { a: true }] }
    const given = { entries: [{ action: "a.b", targetId: undefined, metadata, actorId: null, extra: 1 }] }
    const decoded = Effect.runSync(decodeAuditEntries(given))
    assert.deepStrictEqual(decoded, Effect.runSync(decodeAuditEntriesBySchema(given)))
    assert.deepStrictEqual(Object.keys(decoded.entries[0]!), ["action", "metadata", "actorId"])
    assert.notStrictEqual(decoded.entries[0]!.metadata, metadata)
    metadata.note = "changed"
    assert.strictEqual(decoded.entries[0]!.metadata?.note, "n")
  })
})
