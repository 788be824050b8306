import { Schema } from "effect"
import { Model } from "effect/schema"

/**
 * A timestamptz column filled by PostgreSQL (`DEFAULT now()` or a trigger): read from the driver's `Date`,
 * written as ISO text in JSON, and absent from insert/update so the database stays the only writer.
 */
export const DbTimestamp = Model.Field({
  select: Schema.DateTimeUtcFromDate,
  json: Schema.DateTimeUtcFromString
})
