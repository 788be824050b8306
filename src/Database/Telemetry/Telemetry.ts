/**
 * Exporting what the kernel observes. The kernel always makes its spans (every repository call, every SQL
 * statement) and records its metrics (see `KernelMetrics`) through Effect's own tracer and metric registry;
 * these layers only decide where they go. A service that installs its own tracer or exporter leaves them out
 * and gets the same spans and metrics; `layerDisabled` turns both off.
 */
import { Effect, Layer, Metric, References } from "effect"
import { FetchHttpClient, HttpRouter, HttpServerResponse } from "effect/http"
// Submodules, not the index, which loads every exporter (the OTLP proxy included).
import * as OtlpLogger from "effect/observability/OtlpLogger"
import * as OtlpMetrics from "effect/observability/OtlpMetrics"
import * as OtlpSerialization from "effect/observability/OtlpSerialization"
import * as OtlpTracer from "effect/observability/OtlpTracer"
import * as PrometheusMetrics from "effect/observability/PrometheusMetrics"
import { Statement } from "effect/sql"
import { AppConfig } from "../../Config/AppConfig.ts"
import type { AppConfigValues } from "../../Config/ConfigSchema.ts"
import { packageVersion } from "../../Config/PackageFiles.ts"
import { prometheusName } from "./KernelMetrics.ts"
import { KernelMetricsEnabled } from "./MetricsSwitch.ts"

export { catalog, type MetricDescription, prometheusName } from "./KernelMetrics.ts"
export { KernelMetricsEnabled } from "./MetricsSwitch.ts"

/** The `telemetry` section of the configuration. */
export type TelemetrySettings = AppConfigValues["telemetry"]

const kernelVersion = (): string | undefined => {
  try {
    return packageVersion()
  } catch {
    return undefined
  }
}

/**
 * Each SQL statement's span becomes the parent of its execution, so the client can name the statement's
 * operation on it (`db.operation`: SELECT, INSERT, ...) and Effect records the wait for a connection
 * (`db.client.connection.wait_time_ms`). Part of `layerOtlp`; add it under a tracer of your own for the same
 * spans. Costs a little per statement while tracing, nothing when the tracer is disabled.
 */
export const layerStatementDetail: Layer.Layer<never> = Layer.succeed(Statement.SpanPropagationEnabled, true)

/**
 * OTLP/HTTP export to `settings.otlp.endpoint`: spans to `/v1/traces`, every metric of Effect's registry to
 * `/v1/metrics`, and, with `settings.otlp.logs`, the logs (with their trace and span ids) to `/v1/logs`,
 * beside the loggers already installed. Batches go out every `settings.otlp.exportInterval` and once more
 * when the layer's scope closes. Nothing when the endpoint is empty.
 */
export const layerOtlp = (settings: TelemetrySettings): Layer.Layer<never> => {
  const { endpoint, protocol, logs, exportInterval } = settings.otlp
  if (endpoint === "") return Layer.empty
  const base = endpoint.replace(/\/+$/, "")
  const resource = { serviceName: settings.serviceName, serviceVersion: kernelVersion() }
  const exporters = Layer.mergeAll(
    layerStatementDetail,
    OtlpTracer.layer({ url: `${base}/v1/traces`, resource, exportInterval }),
    OtlpMetrics.layer({ url: `${base}/v1/metrics`, resource, exportInterval }),
    logs ? OtlpLogger.layer({ url: `${base}/v1/logs`, resource, exportInterval, mergeWithExisting: true }) : Layer.empty
  )
  return exporters.pipe(
    Layer.provide(protocol === "http/json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf),
    Layer.provide(FetchHttpClient.layer)
  ) as Layer.Layer<never>
}

/** Neither spans nor the kernel's metrics: for a service that wants none of it (or a benchmark). */
export const layerDisabled: Layer.Layer<never> = Layer.mergeAll(
  Layer.succeed(References.TracerEnabled, false),
  Layer.succeed(KernelMetricsEnabled, false)
)

/** What `telemetry` configures: OTLP export (when an endpoint is set), and the kernel's metrics on or off. */
export const layerFrom = (settings: TelemetrySettings): Layer.Layer<never> =>
  Layer.merge(layerOtlp(settings), settings.metrics.enabled ? Layer.empty : Layer.succeed(KernelMetricsEnabled, false))

/** `layerFrom` the `telemetry` section of `AppConfig`. */
export const layer: Layer.Layer<never, never, AppConfig> = Layer.unwrap(
  Effect.map(
    AppConfig.useSync((config) => config.telemetry),
    layerFrom
  )
)

/**
 * Every metric of Effect's registry in the Prometheus text format, named as OpenTelemetry's Prometheus
 * compatibility rules say (see `KernelMetrics.prometheusName`): `db.client.operation.duration` is
 * `db_client_operation_duration_seconds`, a counter ends in `_total`.
 */
export const prometheusText: Effect.Effect<string> = Effect.withFiber((fiber) => {
  const shapes = new Map<string, string>()
  for (const metric of Metric.snapshotUnsafe(fiber.context)) {
    if (!shapes.has(metric.id)) shapes.set(metric.id, prometheusName(metric.id, metric.type, metric.attributes?.unit))
  }
  return Effect.succeed(
    PrometheusMetrics.formatUnsafe(fiber.context, { metricNameMapper: (name) => shapes.get(name) ?? name })
  )
})

/** `GET /metrics` (or `path`): `prometheusText`, as Prometheus scrapes it. */
export const prometheusRoute = (path: HttpRouter.PathInput = "/metrics") =>
  HttpRouter.add(
    "GET",
    path,
    Effect.map(prometheusText, (body) =>
      HttpServerResponse.text(body, { contentType: "text/plain; version=0.0.4; charset=utf-8" })
    )
  )
