import { Schema } from "effect"

// PostgreSQL's text cannot hold NUL ("invalid byte sequence for encoding UTF8: 0x00"), and a lone surrogate
// has no UTF-8 encoding: the driver would send U+FFFD instead, storing something other than what was given.
// Both are rejected before any store is asked, so that the in-memory store agrees with PostgreSQL.
const nul = "\u0000"
const loneSurrogate = /\p{Cs}/u

/** Why `text` cannot be stored exactly as given in a `text` or `jsonb` column, if it cannot. */
export const storableTextProblem = (text: string): string | undefined => {
  if (text.includes(nul)) return "must not contain NUL characters"
  if (loneSurrogate.test(text)) return "must not contain unpaired surrogates (it must be valid Unicode)"
  return undefined
}

/** A check of free text: stored exactly as given, or rejected. */
export const isStorableText = Schema.makeFilter<string>((text) => storableTextProblem(text), undefined, true)
