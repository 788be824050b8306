import { Schema } from "effect"

/** Startup cannot go on with this configuration; `message` is one line for the operator. */
export class ConfigLoadError extends Schema.TaggedError<ConfigLoadError>()("ConfigLoadError", {
  message: Schema.String
}) {}
