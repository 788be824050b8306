/**
 * Issue 18: a repository method's span is opened more cheaply than by `Effect.withSpan` (one context change
 * instead of two); what `withSpan` gives must stay: the span named after the method, current for what the body
 * runs, ended with the call's exit, and the method's name as the stack frame of a failure raised inside.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Option, Tracer } from "effect"
import { methodsOf } from "../../../src/Database/Front/Operation.ts"

const recording = () => {
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

describe("methodsOf", () => {
  const method = methodsOf("Things")

  it.effect("opens the method's span, current for its body and ended with its exit", () =>
    Effect.gen(function* () {
      const { spans, tracer } = recording()
      const find = method("find")(function* (n: number) {
        const current = yield* Effect.currentSpan
        yield* Effect.withSpan(Effect.void, "inner")
        return [n, current.name] as const
      })
      const [n, current] = yield* Effect.withTracer(Effect.withSpan(find(7), "caller"), tracer)
      assert.deepStrictEqual([n, current], [7, "Things.find"])
      const byName = new Map(spans.map((span) => [span.name, span]))
      const own = byName.get("Things.find")!
      assert.strictEqual(Option.getOrUndefined(own.parent)?.spanId, byName.get("caller")!.spanId)
      assert.strictEqual(Option.getOrUndefined(byName.get("inner")!.parent)?.spanId, own.spanId)
      assert.strictEqual(own.status._tag, "Ended")
      assert.isTrue(own.status._tag === "Ended" && Exit.isSuccess(own.status.exit))
    })
  )

  it.effect("a defect raised inside carries the method's name as its stack frame; the span ends failed", () =>
    Effect.gen(function* () {
      const { spans, tracer } = recording()
      const broken = method("broken")(function* () {
        return yield* Effect.die(new Error("boom"))
      })
      const exit = yield* Effect.exit(Effect.withTracer(broken(), tracer))
      assert.isTrue(Exit.isFailure(exit))
      const reason = Exit.isFailure(exit) ? exit.cause.reasons.find(Cause.isDieReason) : undefined
      assert.isDefined(reason)
      const frame = Context.getOrUndefined(Cause.reasonAnnotations(reason!), Cause.StackTrace)
      assert.strictEqual(frame?.name, "Things.broken")
      const own = spans.find((span) => span.name === "Things.broken")!
      assert.isTrue(own.status._tag === "Ended" && Exit.isFailure(own.status.exit))
    })
  )
})
