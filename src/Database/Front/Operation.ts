import { Cause, Clock, Context, Effect, Exit, type Fiber, LogLevel, Option, References, Schema, Tracer } from "effect"
import { SqlError } from "effect/sql"
import { DatabaseUnavailable } from "../../Domain/index.ts"
import { describeSqlError, isTransientSqlError } from "../Client/SqlFailure.ts"
import { KernelMetricsEnabled } from "../Telemetry/MetricsSwitch.ts"
import { observeOperationMapping, operationRecorder } from "../Telemetry/OperationMetrics.ts"
import type { StoreFailure } from "./RepositoryStore.ts"

const unavailable = (operation: string, error: SqlError.SqlError) =>
  new DatabaseUnavailable({ operation, reason: `${error.reason._tag}: ${describeSqlError(error)}` })

const transientIn = (reason: Cause.Reason<unknown>): SqlError.SqlError | undefined => {
  const error = Cause.isFailReason(reason) ? reason.error : Cause.isDieReason(reason) ? reason.defect : undefined
  return SqlError.isSqlError(error) && isTransientSqlError(error) ? error : undefined
}

/**
 * The domain view of a failed cause:
 * - a transient SQL failure anywhere in it, even as a defect (a ROLLBACK on a lost connection dies), makes
 *   the whole failure `DatabaseUnavailable`, unless the fiber was interrupted;
 * - any other store failure (a SQL error, rows that do not decode) is a defect: a bug or a broken invariant,
 *   never to be mistaken for a retryable condition;
 * - the other failures (domain errors) and interruptions are kept.
 */
export const domainCause = <E>(
  operation: string,
  cause: Cause.Cause<E>
): Cause.Cause<Exclude<E, StoreFailure> | DatabaseUnavailable> => {
  type Out = Exclude<E, StoreFailure> | DatabaseUnavailable
  if (!Cause.hasInterrupts(cause)) {
    for (const reason of cause.reasons) {
      const transient = transientIn(reason)
      if (transient !== undefined) return Cause.fail(unavailable(operation, transient))
    }
  }
  return Cause.fromReasons<Out>(
    cause.reasons.map((reason): Cause.Reason<Out> => {
      if (!Cause.isFailReason(reason)) return reason as Cause.Reason<never>
      if (SqlError.isSqlError(reason.error) || Schema.isSchemaError(reason.error))
        return Cause.makeDieReason(reason.error)
      return reason as Cause.Reason<Out>
    })
  )
}

/** The failures of `self` in the domain's terms (see `domainCause`); `operation` names the call. */
export const toDomain =
  (operation: string) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, StoreFailure> | DatabaseUnavailable, R> =>
    Effect.catchCause(self, (cause) => Effect.failCause(domainCause(operation, cause)))

/**
 * The methods of one repository: `method("create")(function* (...) { ... })` is traced as the span
 * `UserRepository.create`, and its failures reach the caller through `toDomain` under that same name.
 * Its duration and failures are recorded under that name too (see `Telemetry/OperationMetrics`).
 *
 * The span is opened without a stack trace: `Effect.fn` captures one per call (an `Error` and its stack,
 * 7-12 µs), which on a 2-core host with the server on it costs the throughput of a point lookup by a fifth.
 * The span's name already says which method ran; a defect keeps the stack of where it was raised.
 *
 * A call is the span `Effect.withSpan` would open (see `openSpan`), made current with its stack frame in one
 * change of the fiber's context, and one match that maps the failure to the domain's, records the metric and
 * ends the span: one step on entry and one on exit besides the body, where `withSpan` around a metric hook
 * takes several (and a second change of context). Everything a call needs besides its body (the metric series,
 * the cause mapping, the frame's name) is made once per method.
 */
export const methodsOf =
  (service: string) =>
  (name: string): MethodBuilder =>
    makeMethod(`${service}.${name}`) as unknown as MethodBuilder

// `MethodBuilder` without its types: the two forms of body are told apart at run time.
const makeMethod =
  (operation: string) =>
  (body: (...args: Array<unknown>) => unknown, options?: MethodOptions<Array<unknown>, unknown>) => {
    type Args = Array<unknown>
    type Call = Effect.Effect<unknown, unknown, unknown>
    const mapCause = (cause: Cause.Cause<unknown>) => domainCause(operation, cause)
    const record = operationRecorder(operation)
    // A body written as a generator runs as `Effect.gen`; one that returns its effect, as is (no generator).
    const bodyEffect = (args: Args): Call => {
      const made = body(...args)
      return Effect.isEffect(made)
        ? made
        : Effect.gen(() => made as Generator<Effect.Effect<unknown, unknown, unknown>, unknown, never>)
    }
    // Tracing off: the same span, a no-op one, as `Effect.withSpan` gives it.
    const observe = observeOperationMapping(operation, mapCause)
    const noopSpan = inSpan(operation)
    const untraced = (args: Args): Call => noopSpan(observe(Effect.suspend(() => bodyEffect(args))))
    const run = (fiber: Fiber.Fiber<unknown, unknown>, args: Args): Call => {
      if (!fiber.cache.tracerEnabled) return untraced(args)
      const span = openSpan(fiber, operation)
      const metered = fiber.getRef(KernelMetricsEnabled)
      const startedAt = metered ? performance.now() : 0
      const context = fiber.context
      // Two overlays on the caller's context (`Effect.provideContext` would copy every service into a new one).
      const inner = Context.add(Context.add(context, Tracer.ParentSpan, span), References.CurrentStackFrame, {
        name: operation,
        stack: noStack,
        parent: fiber.cache.stackFrame
      })
      // The body is made here, before its context is set: only its effect runs inside it.
      return Effect.matchCauseEffect(
        Effect.updateContext(bodyEffect(args), () => inner as Context.Context<unknown>),
        {
          onSuccess: (value) => {
            const exit = Exit.succeed(value)
            endSpan(fiber, span, exit)
            if (metered) record.succeeded(context, startedAt)
            return exit
          },
          onFailure: (cause) => {
            const mapped = mapCause(cause)
            const exit = Exit.failCause(mapped)
            endSpan(fiber, span, exit)
            if (metered) record.failed(context, startedAt, mapped)
            return exit
          }
        }
      )
    }
    const answer = options?.answer
    // A plain closure rather than `Effect.fnUntraced`, whose wrapper spreads `arguments` into every pipeable.
    if (answer === undefined) return (...args: Args): Call => Effect.withFiber((fiber) => run(fiber, args))
    return (...args: Args): Call =>
      Effect.withFiber((fiber) => {
        const startedAt = performance.now()
        const answered = answer(fiber.context, ...args)
        if (answered === undefined) return run(fiber, args)
        if (fiber.cache.tracerEnabled) endSpan(fiber, openSpan(fiber, operation), answered)
        if (fiber.getRef(KernelMetricsEnabled)) record.succeeded(fiber.context, startedAt)
        return answered
      })
  }

/**
 * Makes one method from its body: a generator (`function* (...) { ... }`, run as `Effect.gen`), or a function
 * that returns its effect (no generator made per call: for the hot point reads).
 */
export interface MethodBuilder {
  <Eff extends Effect.Effect<unknown, unknown, unknown>, A, Args extends Array<unknown>>(
    body: (...args: Args) => Generator<Eff, A, never>,
    options?: MethodOptions<Args, A>
  ): (
    ...args: Args
  ) => Effect.Effect<A, Exclude<Effect.Error<Eff>, StoreFailure> | DatabaseUnavailable, Effect.Services<Eff>>
  <A, E, R, Args extends Array<unknown>>(
    body: (...args: Args) => Effect.Effect<A, E, R>,
    options?: MethodOptions<Args, A>
  ): (...args: Args) => Effect.Effect<A, Exclude<E, StoreFailure> | DatabaseUnavailable, R>
}

/** What a method may do besides running its body. */
export interface MethodOptions<Args extends Array<unknown>, A> {
  /**
   * The call's outcome when it is known without running anything (a cache hit), for a fiber with `context`;
   * `undefined` runs the body. Such a call is one effect step: its span is opened and ended at once (nothing
   * runs inside it, so it is never made current) and its duration recorded; it cannot fail. Give it only
   * when the body would answer the same.
   */
  readonly answer?: ((context: Context.Context<never>, ...args: Args) => Exit.Success<A> | undefined) | undefined
}

/**
 * `Effect.makeSpan(name)` as effect's runtime makes it (its `makeSpanUnsafe`, no options), tracing on: a child
 * of the nearest propagating span, with the fiber's span annotations and links, sampled by trace level.
 */
const openSpan = (fiber: Fiber.Fiber<unknown, unknown>, name: string): Tracer.Span => {
  const parent = propagatedParent(fiber.cache.span)
  const tracer = fiber.cache.tracer ?? Tracer.nativeTracer
  const annotations = fiber.getRef(References.TracerSpanAnnotations)
  const links = fiber.getRef(References.TracerSpanLinks)
  const level = fiber.getRef(Tracer.CurrentTraceLevel)
  const span = tracer.span({
    name,
    parent,
    annotations: Context.empty(),
    links: links.length === 0 ? [] : links.slice(),
    startTime: fiber.getRef(References.TracerTimingEnabled) ? fiber.getRef(Clock.Clock).currentTimeNanosUnsafe() : 0n,
    kind: "internal",
    root: false,
    sampled:
      Option.isSome(parent) && parent.value.sampled === false
        ? false
        : !LogLevel.isGreaterThan(fiber.getRef(Tracer.MinimumTraceLevel), level)
  })
  for (const key in annotations) span.attribute(key, annotations[key])
  return span
}

// As effect ends a span it opened: with the call's exit, timed by the fiber's clock.
const endSpan = (fiber: Fiber.Fiber<unknown, unknown>, span: Tracer.Span, exit: Exit.Exit<unknown, unknown>) => {
  if (span.status._tag === "Ended") return
  span.end(fiber.getRef(References.TracerTimingEnabled) ? fiber.getRef(Clock.Clock).currentTimeNanosUnsafe() : 0n, exit)
}

// The nearest span that propagates (effect's `filterDisablePropagation`).
const propagatedParent = (span: Tracer.AnySpan | undefined): Option.Option<Tracer.AnySpan> => {
  if (span === undefined) return Option.none()
  if (!Context.get(span.annotations, Tracer.DisablePropagation)) return Option.some(span)
  return span._tag === "Span" ? propagatedParent(Option.getOrUndefined(span.parent)) : Option.none()
}

const noStack = () => undefined

/**
 * `Effect.withSpan(name, undefined, { captureStackTrace: false })`: the same span (name, parent, timing, exit)
 * and the same stack frame, provided in one context change.
 */
const inSpan =
  (name: string) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.useSpan(name, (span) =>
      Effect.updateContext(self, (context: Context.Context<R>) =>
        Context.add(Context.add(context, Tracer.ParentSpan, span), References.CurrentStackFrame, {
          name,
          stack: noStack,
          parent: Context.get(context, References.CurrentStackFrame)
        })
      )
    )
