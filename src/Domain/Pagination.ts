import { Buffer } from "node:buffer"
import { Effect, Option, Schema } from "effect"
import { InvalidInput } from "./Errors.ts"
import { optionalInput } from "./OptionalInput.ts"

/** The page size when a request gives none. */
export const DefaultPageLimit = 50
/** The largest page size a request may ask for. */
export const MaxPageLimit = 500
export const CursorMaxLength = 2048

/** A page size: a whole number from 1 to `MaxPageLimit`. */
export const PageLimit = Schema.Int.pipe(
  Schema.check(
    Schema.isBetween(
      { minimum: 1, maximum: MaxPageLimit },
      { message: `must be an integer between 1 and ${MaxPageLimit}` }
    )
  )
)

/** An opaque position in a listing: base64url of the JSON keyset of the last item of the previous page. */
export const Cursor = Schema.String.pipe(
  Schema.check(
    Schema.isNonEmpty({ message: "must not be empty" }),
    Schema.isMaxLength(CursorMaxLength, { message: `must be at most ${CursorMaxLength} characters` })
  ),
  Schema.brand("Cursor")
)
export type Cursor = typeof Cursor.Type

const defaultLimit = Effect.succeed(DefaultPageLimit)

/** A page size and where to start; either may be absent or `undefined`. */
export class PageRequest extends Schema.Class<PageRequest>("PageRequest")({
  limit: PageLimit.pipe(Schema.withDecodingDefault(defaultLimit), Schema.withConstructorDefault(defaultLimit)),
  cursor: optionalInput(Cursor)
}) {}

/** One page of a listing and the cursor of the next (`null` on the last page). */
export interface Page<A> {
  readonly items: ReadonlyArray<A>
  /** `None` on the last page; encoded as `null` in JSON. */
  readonly nextCursor: Option.Option<Cursor>
}

/** The schema of a page of `item`s. */
export const Page = <S extends Schema.Top>(item: S) =>
  Schema.Struct({ items: Schema.Array(item), nextCursor: Schema.OptionFromNullOr(Cursor) })

/** Reads and writes one repository's keyset (e.g. `[id]` or `[timestamp, id]`) as a `Cursor`. */
export interface CursorCodec<Key> {
  readonly encode: (key: Key) => Cursor
  /** Fails with `InvalidInput` on field `cursor` for anything this codec did not produce. */
  readonly decode: (cursor: string) => Effect.Effect<Key, InvalidInput>
}

export const invalidCursor = InvalidInput.fromRule("cursor", "must be a cursor returned by a previous page")

// A key made of strings only (every key of the repositories: ids, names, microseconds as text) is its own JSON
// form, so its cursor is the base64url of its JSON text, which Buffer makes far more cheaply than the schema.
const isStringKey = (value: unknown): value is ReadonlyArray<string> =>
  Array.isArray(value) && value.every((item) => typeof item === "string")

const stringKeyCursor = (key: ReadonlyArray<string>): string => Buffer.from(JSON.stringify(key)).toString("base64url")

/** The string key a cursor holds, read leniently (the caller proves it canonical), or `undefined`. */
const stringKeyOf = (cursor: string): ReadonlyArray<string> | undefined => {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))
    return isStringKey(key) ? key : undefined
  } catch {
    return undefined
  }
}

export const makeCursorCodec = <S extends Schema.Codec<unknown, unknown>>(key: S): CursorCodec<S["Type"]> => {
  // toCodecJson lets keys hold non-JSON types (DateTime, Option...) with their canonical JSON form.
  const cursorSchema = Schema.StringFromBase64Url.pipe(Schema.decodeTo(Schema.fromJsonString(Schema.toCodecJson(key))))
  const encode = Schema.encodeSync(cursorSchema)
  const decode = Schema.decodeUnknownEffect(cursorSchema)
  const isKey = Schema.is(key)
  return {
    // A valid string key takes the short way to the very text the schema would give; anything else the schema's.
    encode: (value) => Cursor.make(isStringKey(value) && isKey(value) ? stringKeyCursor(value) : encode(value)),
    // The short way only for a cursor that is exactly the encoding of a valid string key (so the schema would
    // decode it to that key too); any other text, valid or not, is decoded by the schema.
    decode: (cursor) => {
      const fast = stringKeyOf(cursor)
      return fast !== undefined && isKey(fast) && stringKeyCursor(fast) === cursor
        ? Effect.succeed(fast as S["Type"])
        : Effect.mapError(decode(cursor), () => invalidCursor)
    }
  }
}

/**
 * Builds a page from rows fetched with `LIMIT limit + 1`: the extra row only proves that a next page exists,
 * and the cursor points after the last returned item.
 */
export const pageFromRows = <A, Key>(
  rows: ReadonlyArray<A>,
  limit: number,
  keyOf: (item: A) => Key,
  codec: CursorCodec<Key>
): Page<A> => {
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  return {
    items,
    nextCursor: rows.length > limit && last !== undefined ? Option.some(codec.encode(keyOf(last))) : Option.none()
  }
}
