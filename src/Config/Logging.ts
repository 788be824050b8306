import { Layer, Logger, References } from "effect"
import type { AppConfigValues } from "./ConfigSchema.ts"

const LEVELS = {
  all: "All",
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error",
  fatal: "Fatal",
  none: "None"
} as const

/**
 * One line per event: JSON objects for log collectors, logfmt for people, written to `log.destination`.
 * `toStderr` writes to stderr whatever that says, keeping stdout free for commands whose output is data
 * (`status`, `health`).
 */
export const layer = (
  // `destination` may be left out (stdout), as before it existed.
  log: Omit<AppConfigValues["log"], "destination"> & { readonly destination?: AppConfigValues["log"]["destination"] },
  options: { readonly toStderr?: boolean } = {}
): Layer.Layer<never> => {
  const format = log.format === "json" ? Logger.formatJson : Logger.formatLogFmt
  const toStderr = options.toStderr === true || log.destination === "stderr"
  const logger = toStderr ? Logger.withConsoleError(format) : Logger.withConsoleLog(format)
  return Layer.merge(Logger.layer([logger]), Layer.succeed(References.MinimumLogLevel, LEVELS[log.level]))
}
