import { Effect, Option, Redacted, Schema } from "effect"
import { decodeInput, InvalidInput, PageRequest } from "../../Domain/index.ts"

/**
 * An id argument checked before it reaches SQL: a malformed id names nothing, so callers treat `None` as
 * "not found" instead of letting PostgreSQL reject the whole statement (or a whole batch).
 */
export const validId = <S extends Schema.Top & { readonly Type: string }>(schema: S) => {
  const is = Schema.is(schema)
  return (id: unknown): Option.Option<S["Type"]> => {
    // Lower-cased because PostgreSQL returns uuids that way and the batched lookup matches rows by id.
    const normalised = typeof id === "string" ? id.toLowerCase() : id
    return is(normalised) ? Option.some(normalised as S["Type"]) : Option.none()
  }
}

/** The fields of a `ListRequest` (limit 1..500, default 50; optional cursor), to extend with filters. */
export const pageFields = PageRequest.fields

export const decodePageRequest = decodeInput(Schema.Struct(pageFields), "request")

/** `Redacted` text checked by `decode`; anything else is rejected without being described. */
export const redactedText = <A>(
  field: string,
  value: unknown,
  decode: (text: string) => Effect.Effect<A, InvalidInput>
): Effect.Effect<A, InvalidInput> => {
  const text = Redacted.isRedacted(value) ? Redacted.value(value) : undefined
  return typeof text === "string"
    ? decode(text)
    : Effect.fail(InvalidInput.fromRule(field, "must be a Redacted string"))
}

/** A missing request is the first page with the default limit. (Also used by the in-memory layers.) */
export const orEmpty = <A extends object>(request: A | undefined): A | Record<string, never> => request ?? {}
