import { type Effect, Schema } from "effect"
import type { InvalidInput } from "./Errors.ts"
import { decodeInput } from "./Input.ts"
import { isStorableText } from "./StorableText.ts"

export const PasswordHashMaxLength = 1024

// This layer stores hashes produced elsewhere and never hashes, so the only rules are "present" and "bounded".
// Custom messages keep the default formatter from ever describing the value.
const PasswordHashText = Schema.String.pipe(
  Schema.check(
    Schema.isPattern(/\S/, { message: "must not be blank" }),
    Schema.isMaxLength(PasswordHashMaxLength, { message: `must be at most ${PasswordHashMaxLength} characters` }),
    isStorableText
  )
)

/**
 * A password hash, decoded from its stored text into a `Redacted` so it prints as `<redacted>` in JSON, logs,
 * errors and `toString`. Read it with `Redacted.value`; encoding yields the text for the column. No Redacted
 * label: a labelled schema would reject every `Redacted.make(text)` made without that exact label.
 */
export const PasswordHash = Schema.RedactedFromValue(PasswordHashText).pipe(Schema.brand("PasswordHash"))
export type PasswordHash = typeof PasswordHash.Type

/** Wraps hash text (e.g. from the hasher) as a `PasswordHash`, failing with `InvalidInput` on `passwordHash`. */
export const passwordHashFromText: (text: string) => Effect.Effect<PasswordHash, InvalidInput> = decodeInput(
  PasswordHash,
  "passwordHash"
)
