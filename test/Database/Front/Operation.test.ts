/**
 * Issue 18: a repository method's span is opened more cheaply than by `Effect.withSpan` (one context change
 * instead of two); what `withSpan` gives must stay: the span named after the method, current for what the body
 * runs, ended with the call's exit, and the method's name as the stack frame of a failure raised inside.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Metric, Option, References, Tracer } from "effect"
import { methodsOf } from "../../../src/Database/Front/Operation.ts"
import { operationDuration } from "../../../src/Database/Telemetry/KernelMetrics.ts"
import { KernelMetricsEnabled } from "../../../src/Database/Telemetry/MetricsSwitch.ts"
import { recordingTracer } from "../../support/SpanRecorder.ts"

describe("methodsOf", () => {
  const method = methodsOf("Things")

  it.effect("opens the method's span, current for its body and ended with its exit", () =>
    Effect.gen(function* () {
      const { spans, tracer } = recordingTracer()
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
      const { spans, tracer } = recordingTracer()
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

  // Issue 18: the point reads return their effect instead of running a generator; both forms are the same method.
  it.effect("a body that returns its effect: same span, same failure mapping; either form runs anew each time", () =>
    Effect.gen(function* () {
      const { spans, tracer } = recordingTracer()
      let made = 0
      const plain = method("plain")((n: number) => {
        made++
        return n > 0 ? Effect.map(Effect.currentSpan, (span) => [n, span.name] as const) : Effect.die(new Error("boom"))
      })
      const generated = method("generated")(function* (n: number) {
        made++
        return [n, (yield* Effect.currentSpan).name] as const
      })
      const once = Effect.withTracer(plain(1), tracer)
      assert.deepStrictEqual(
        [yield* once, yield* once],
        [
          [1, "Things.plain"],
          [1, "Things.plain"]
        ]
      )
      const twice = Effect.withTracer(generated(2), tracer)
      assert.deepStrictEqual(
        [yield* twice, yield* twice],
        [
          [2, "Things.generated"],
          [2, "Things.generated"]
        ]
      )
      assert.strictEqual(made, 4, "a call's effect makes its body each time it runs")
      const exit = yield* Effect.exit(Effect.withTracer(plain(0), tracer))
      const reason = Exit.isFailure(exit) ? exit.cause.reasons.find(Cause.isDieReason) : undefined
      assert.strictEqual(
        Context.getOrUndefined(Cause.reasonAnnotations(reason!), Cause.StackTrace)?.name,
        "Things.plain"
      )
      const failed = spans.filter((span) => span.name === "Things.plain").at(-1)!
      assert.isTrue(failed.status._tag === "Ended" && Exit.isFailure(failed.status.exit))
    })
  )

  // Issue 18: the span is opened by hand (one step with the metric and the mapping): it must be the very span
  // `Effect.withSpan` opens, under whatever the caller set (annotations, links, trace levels).
  it.effect("its span is the one Effect.withSpan gives: parent, attributes, links, kind, sampling", () =>
    Effect.gen(function* () {
      const { spans, tracer } = recordingTracer()
      const find = method("find")(function* (n: number) {
        return n
      })
      const link = Tracer.externalSpan({ spanId: "link-span", traceId: "link-trace" })
      // The minimum level set inside the caller's (sampled) span: only the trace level decides.
      const under = <A, E, R>(self: Effect.Effect<A, E, R>, minimum: "Info" | "Error") =>
        Effect.withSpan(Effect.provideService(self, Tracer.MinimumTraceLevel, minimum), "caller").pipe(
          Effect.annotateSpans({ tenant: "t1" }),
          Effect.linkSpans(link, { why: "test" }),
          Effect.withTracer(tracer)
        )
      for (const minimum of ["Info", "Error"] as const) {
        spans.length = 0
        yield* under(find(1), minimum)
        yield* under(Effect.withSpan(Effect.succeed(1), "Things.find", { captureStackTrace: false }), minimum)
        const [own, reference] = spans.filter((span) => span.name === "Things.find")
        const [ownCaller, referenceCaller] = spans.filter((span) => span.name === "caller")
        assert.strictEqual(Option.getOrUndefined(own!.parent)?.spanId, ownCaller!.spanId)
        assert.strictEqual(Option.getOrUndefined(reference!.parent)?.spanId, referenceCaller!.spanId)
        assert.deepStrictEqual([...own!.attributes], [...reference!.attributes])
        assert.deepStrictEqual(own!.links, reference!.links)
        assert.deepStrictEqual(
          [own!.kind, own!.sampled, own!.status._tag],
          [reference!.kind, reference!.sampled, reference!.status._tag]
        )
        assert.strictEqual(own!.sampled, minimum === "Info", `sampled under a minimum of ${minimum}`)
      }
    })
  )

  // Issue 18: a call answered without running its body (a permission cache's hit) is one step, yet keeps the
  // span and the duration every call has.
  describe("with an answer", () => {
    const ran: Array<number> = []
    const double = method("double")(
      function* (n: number) {
        ran.push(n)
        return n * 2
      },
      { answer: (_context, n) => (n === 1 ? (Exit.succeed(2) as Exit.Success<number>) : undefined) }
    )
    const durations = Effect.map(
      Metric.value(Metric.withAttributes(operationDuration, { "db.operation.name": "Things.double" })),
      (state) => state.count
    )

    it.effect("an answered call has its span under the caller's, ended with its exit, and its duration", () =>
      Effect.gen(function* () {
        ran.length = 0
        const { spans, tracer } = recordingTracer()
        const before = yield* durations
        const traced = Effect.withSpan(double(1), "caller").pipe(
          Effect.annotateSpans({ tenant: "t1" }),
          Effect.withTracer(tracer)
        )
        assert.strictEqual(yield* traced, 2)
        assert.deepStrictEqual(ran, [], "the body did not run")
        assert.strictEqual(yield* durations, before + 1)
        // The same span as an unanswered call's (`Effect.withSpan`'s): compared field by field.
        const body = Effect.withSpan(double(3), "caller").pipe(
          Effect.annotateSpans({ tenant: "t1" }),
          Effect.withTracer(tracer)
        )
        assert.strictEqual(yield* body, 6)
        assert.deepStrictEqual(ran, [3], "an unanswered call runs the body")
        const own = spans.filter((span) => span.name === "Things.double")
        assert.lengthOf(own, 2)
        const callers = spans.filter((span) => span.name === "caller")
        own.forEach((span, i) => {
          assert.strictEqual(Option.getOrUndefined(span.parent)?.spanId, callers[i]!.spanId)
          assert.strictEqual(span.kind, "internal")
          assert.isTrue(span.sampled)
          assert.isTrue(span.status._tag === "Ended" && Exit.isSuccess(span.status.exit))
          assert.isTrue(span.status._tag === "Ended" && span.status.endTime >= span.status.startTime)
        })
        assert.deepStrictEqual([...own[0]!.attributes], [...own[1]!.attributes])
        assert.strictEqual(own[0]!.attributes.get("tenant"), "t1", "the fiber's span annotations")
      })
    )

    it.effect("tracing off: no span; metrics off: no duration; the answer still given", () =>
      Effect.gen(function* () {
        const { spans, tracer } = recordingTracer()
        const before = yield* durations
        const quiet = double(1).pipe(
          Effect.withTracer(tracer),
          Effect.provideService(References.TracerEnabled, false),
          Effect.provideService(KernelMetricsEnabled, false)
        )
        assert.strictEqual(yield* quiet, 2)
        assert.lengthOf(spans, 0)
        assert.strictEqual(yield* durations, before)
      })
    )

    it.effect("a span below the minimum trace level is not sampled, as withSpan's would not be", () =>
      Effect.gen(function* () {
        const { spans, tracer } = recordingTracer()
        yield* double(1).pipe(Effect.withTracer(tracer), Effect.provideService(Tracer.MinimumTraceLevel, "Error"))
        yield* double(3).pipe(Effect.withTracer(tracer), Effect.provideService(Tracer.MinimumTraceLevel, "Error"))
        assert.deepStrictEqual(
          spans.map((span) => span.sampled),
          [false, false]
        )
      })
    )
  })
})
