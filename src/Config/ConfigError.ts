import { Schema } from "effect"

/** Startup cannot go on with this configuration; `message` is one line for the operator. */
export class ConfigLoadError extends Schema.TaggedError<ConfigLoadError>()("ConfigLoadError", {
  message: Schema.String
}) {}

const plural = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`

/**
 * What a refused configuration value looks like, never the value itself: values end up under the wrong key
 * (a shifted `.env` line, a mistyped name) and error lines go to log stores, so a password put where a port
 * belongs must not be printed. Every configuration error says "got <this>".
 */
export const describeRefusedValue = (value: unknown): string => {
  if (value === undefined) return "nothing"
  if (value === null) return "an empty value (null)"
  if (typeof value === "boolean") return "a boolean"
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return "a number that is not finite"
    if (!Number.isInteger(value)) return "a decimal number"
    if (value < 0) return "a negative number"
    if (value === 0) return "zero"
    return `a positive integer of ${plural(String(value).length, "digit", "digits")}`
  }
  if (typeof value === "string") {
    if (value === "") return "an empty string"
    if (value.trim() === "") return `a string of ${plural(value.length, "space", "spaces")}`
    const padded = value.trim() !== value ? " with spaces around it" : ""
    return `a string of ${plural([...value].length, "character", "characters")}${padded}`
  }
  if (Array.isArray(value)) return `a list of ${plural(value.length, "item", "items")}`
  if (typeof value === "object") return `a mapping of ${plural(Object.keys(value).length, "key", "keys")}`
  return `a value of type ${typeof value}`
}
