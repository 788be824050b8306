import { Schema, SchemaTransformation } from "effect"

export const EmailMaxLength = 254

// A pragmatic subset of RFC 5321/5322: a dot-atom local part of at most 64 characters and a domain of
// LDH labels with an alphabetic top-level label. Checked after normalisation, hence lower-case only.
const emailAddressPattern =
  /^(?=[^@]{1,64}@)[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])$/

/**
 * Whether `text` is already a valid, normalised e-mail address: what decoding it as `Email` would return
 * unchanged. A plain test for values read back from the database (see Database/Postgres/Rows.ts).
 */
export const isNormalisedEmail = (text: string): boolean =>
  text.length <= EmailMaxLength && emailAddressPattern.test(text)

const NormalisedEmail = Schema.String.pipe(
  Schema.check(
    Schema.isMaxLength(EmailMaxLength, { message: `must be at most ${EmailMaxLength} characters` }),
    Schema.isPattern(emailAddressPattern, { message: "must be a valid e-mail address" })
  ),
  Schema.brand("Email")
)

// Only ASCII letters are lower-cased: Unicode lower-casing maps some other letters to ASCII (the Kelvin sign
// "\u212A" to "k"), which would turn an address that is not valid into another, valid one.
const lowerCaseAscii = (text: string) => text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase())

/**
 * An e-mail address. Decoding trims and lower-cases (ASCII letters) before validating, so
 * `" Ann@Example.COM "` decodes to `"ann@example.com"`; `Email.make` validates only (the value must already be
 * normalised).
 */
export const Email = Schema.String.pipe(
  Schema.decodeTo(
    NormalisedEmail,
    SchemaTransformation.transform({
      decode: (input: string) => lowerCaseAscii(input.trim()),
      encode: (email: string) => email
    })
  )
)
export type Email = typeof Email.Type
