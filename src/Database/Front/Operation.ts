import {
  Cause,
  Clock,
  Context,
  Effect,
  type Exit,
  type Fiber,
  LogLevel,
  Option,
  References,
  Schema,
  Tracer
} from "effect"
import { SqlError } from "effect/sql"
import { DatabaseUnavailable } from "../../Domain/index.ts"
import { describeSqlError, isTransientSqlError } from "../Client/SqlFailure.ts"
import { observeOperationMapping, recordOperationSuccess } from "../Telemetry/OperationMetrics.ts"
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
 * It is made current with its stack frame (the span's name, as `Effect.withSpan` provides it) in one change of
 * the fiber's context rather than two: each change rebuilds the fiber's context cache, on entry and on exit
 * (about 1.5 µs a call of `withSpan`'s 4 µs, measured with bench/PerCall).
 *
 * Everything a call needs besides its body (span options, the metric series, the cause mapping) is made
 * once per method, and the metric and the mapping to domain failures run as one step.
 */
export const methodsOf =
  (service: string) =>
  (name: string) =>
  <Eff extends Effect.Effect<unknown, unknown, unknown>, A, Args extends Array<unknown>>(
    body: (...args: Args) => Generator<Eff, A, never>,
    options?: MethodOptions<Args, A>
  ) => {
    type E = Effect.Error<Eff>
    type R = Effect.Services<Eff>
    type Call = Effect.Effect<A, Exclude<E, StoreFailure> | DatabaseUnavailable, R>
    const operation = `${service}.${name}`
    const observe = observeOperationMapping(operation, (cause) => domainCause(operation, cause))
    const span = inSpan(operation)
    // A plain closure rather than `Effect.fnUntraced`, whose wrapper spreads `arguments` into every pipeable.
    const run = (...args: Args): Call => span(observe(Effect.gen(() => body(...args)))) as Call
    const answer = options?.answer
    if (answer === undefined) return run
    const recordSuccess = recordOperationSuccess(operation)
    return (...args: Args): Call =>
      Effect.withFiber((fiber) => {
        const startedAt = performance.now()
        const answered = answer(fiber.context, ...args)
        if (answered === undefined) return run(...args)
        spanAtOnce(fiber, operation, answered)
        recordSuccess(fiber, startedAt)
        return answered
      })
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

// `Effect.makeSpan(name)` as effect's runtime makes it (its `makeSpanUnsafe`, no options), then ended with `exit`.
const spanAtOnce = (fiber: Fiber.Fiber<unknown, unknown>, name: string, exit: Exit.Exit<unknown, unknown>) => {
  // Tracing off: the span would be a no-op one, and nothing runs inside it to see it.
  if (!fiber.cache.tracerEnabled) return
  const parent = propagatedParent(fiber.cache.span)
  const tracer = fiber.cache.tracer ?? Tracer.nativeTracer
  const clock = fiber.getRef(Clock.Clock)
  const timed = fiber.getRef(References.TracerTimingEnabled)
  const annotations = fiber.getRef(References.TracerSpanAnnotations)
  const links = fiber.getRef(References.TracerSpanLinks)
  const level = fiber.getRef(Tracer.CurrentTraceLevel)
  const span = tracer.span({
    name,
    parent,
    annotations: Context.empty(),
    links: links.length === 0 ? [] : links.slice(),
    startTime: timed ? clock.currentTimeNanosUnsafe() : 0n,
    kind: "internal",
    root: false,
    sampled:
      Option.isSome(parent) && parent.value.sampled === false
        ? false
        : !LogLevel.isGreaterThan(fiber.getRef(Tracer.MinimumTraceLevel), level)
  })
  for (const key in annotations) span.attribute(key, annotations[key])
  span.end(timed ? clock.currentTimeNanosUnsafe() : 0n, exit)
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
