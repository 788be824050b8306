import { Predicate } from "effect"

/**
 * One readable line for an error that stops a command: the error's own message, plus the server's words
 * for a SQL failure wrapped in another error (a failed migration, say). Never a stack trace.
 */
export const describeFailure = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error)
  const cause = (error as { cause?: unknown }).cause
  const serverMessage = Predicate.hasProperty(cause, "reason")
    ? (cause.reason as { cause?: { message?: string }; message?: string })
    : undefined
  const detail = serverMessage?.cause?.message ?? serverMessage?.message
  return detail !== undefined && !error.message.includes(detail) ? `${error.message}: ${detail}` : error.message
}
