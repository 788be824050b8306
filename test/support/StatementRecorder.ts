import { Effect } from "effect"
import { recordingTracer } from "./SpanRecorder.ts"

/**
 * Runs `effect` with a tracer that keeps every span, and returns the SQL text of the statements the client
 * executed: the SQL client opens one client span per statement and sets `db.query.text` on it. Counting
 * these needs no mock of the client or of the database.
 */
export const recordStatements = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<readonly [A, ReadonlyArray<string>], E, R> =>
  Effect.gen(function* () {
    const { spans, tracer } = recordingTracer()
    const result = yield* Effect.withTracer(effect, tracer)
    const statements = spans
      .filter((span) => span.kind === "client" && span.attributes.has("db.query.text"))
      .map((span) => String(span.attributes.get("db.query.text")))
    return [result, statements] as const
  })
