import { Tracer } from "effect"

/** A tracer that keeps every span it makes, in the order they were opened (for `Effect.withTracer`). */
export const recordingTracer = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}
