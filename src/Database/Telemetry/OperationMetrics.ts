import { Cause, type Context, Effect, Metric } from "effect"
import * as KernelMetrics from "./KernelMetrics.ts"
import { KernelMetricsEnabled } from "./MetricsSwitch.ts"

/** The `error.type` of a failed call: the first failure's tag, `Defect` for a defect; none when interrupted. */
const errorTypeOf = (cause: Cause.Cause<unknown>): string | undefined => {
  for (const reason of cause.reasons) {
    if (Cause.isFailReason(reason)) {
      const error = reason.error
      return typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
        ? error._tag
        : "Error"
    }
    if (Cause.isDieReason(reason)) return "Defect"
  }
  return undefined
}

/**
 * Records the duration of every call of `operation` (`db.client.operation.duration`) and counts its failures
 * (`platform_kernel.operation.errors`) by `error.type`. The series are made once per operation (and once per
 * error type), so a call costs two clock reads and one metric update; nothing when `KernelMetricsEnabled` is
 * off. An interrupted call is neither a duration nor an error.
 */
export const observeOperation = (operation: string) => {
  const observeMapped = observeOperationMapping(operation, (cause) => cause)
  return <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    observeMapped(self) as Effect.Effect<A, E, R>
}

/**
 * The series of one operation, made once: `succeeded` and `failed` record a call begun at `startedAt`
 * (`performance.now()`) whose fiber has `context`, when `KernelMetricsEnabled` is on (the caller checks it once
 * per call). A failure is recorded by the error type of its (mapped) cause; an interruption is not recorded.
 */
export const operationRecorder = (operation: string) => {
  const attributes = { "db.operation.name": operation }
  const succeededSeries = Metric.withAttributes(KernelMetrics.operationDuration, attributes)
  const failedSeries = new Map<
    string,
    { readonly duration: Metric.Histogram<number>; readonly errors: Metric.Counter<number> }
  >()
  const failureSeries = (errorType: string) => {
    let series = failedSeries.get(errorType)
    if (series === undefined) {
      const withError = { ...attributes, "error.type": errorType }
      series = {
        duration: Metric.withAttributes(KernelMetrics.operationDuration, withError),
        errors: Metric.withAttributes(KernelMetrics.operationErrors, withError)
      }
      failedSeries.set(errorType, series)
    }
    return series
  }
  return {
    succeeded: (context: Context.Context<never>, startedAt: number) => {
      succeededSeries.updateUnsafe((performance.now() - startedAt) / 1000, context)
    },
    failed: (context: Context.Context<never>, startedAt: number, cause: Cause.Cause<unknown>) => {
      const errorType = errorTypeOf(cause)
      if (errorType === undefined) return
      const series = failureSeries(errorType)
      series.duration.updateUnsafe((performance.now() - startedAt) / 1000, context)
      series.errors.updateUnsafe(1, context)
    }
  }
}

/**
 * `observeOperation` of `self` with its failure cause mapped by `mapCause` first (the duration and error type
 * are those of the mapped cause), in one step: a call runs one fiber read and one match, not a catch and an
 * exit hook on top of each other.
 */
export const observeOperationMapping = (
  operation: string,
  mapCause: (cause: Cause.Cause<unknown>) => Cause.Cause<unknown>
) => {
  const record = operationRecorder(operation)
  const unobserved = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, unknown, R> =>
    Effect.catchCause(self, (cause) => Effect.failCause(mapCause(cause)))
  return <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, unknown, R> =>
    Effect.withFiber((fiber): Effect.Effect<A, unknown, R> => {
      if (!fiber.getRef(KernelMetricsEnabled)) return unobserved(self)
      const startedAt = performance.now()
      return Effect.matchCauseEffect(self, {
        onSuccess: (value) => {
          record.succeeded(fiber.context, startedAt)
          return Effect.succeed(value)
        },
        onFailure: (cause) => {
          const mapped = mapCause(cause)
          record.failed(fiber.context, startedAt, mapped)
          return Effect.failCause(mapped)
        }
      })
    })
}
