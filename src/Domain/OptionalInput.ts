import { Option, Schema, SchemaTransformation } from "effect"

/**
 * An optional field of caller input: absent or `undefined` (as a consumer under `exactOptionalPropertyTypes`
 * passes `{ cursor: maybeCursor }`), and decoded to an absent key either way, so nothing downstream ever sees
 * a key holding `undefined`.
 */
export const optionalInput = <S extends Schema.Top>(schema: S) =>
  Schema.optional(schema).pipe(
    Schema.decodeTo(
      Schema.optionalKey(Schema.toType(schema)),
      SchemaTransformation.transformOptional({
        decode: Option.filter((value) => value !== undefined),
        encode: (value) => value
      })
    )
  )
