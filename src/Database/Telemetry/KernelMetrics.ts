/**
 * The kernel's metrics, each an Effect `Metric` in Effect's registry, so every exporter of that registry (the
 * OTLP exporter, the Prometheus text of `/metrics`, a consumer's own) sees them. Names are the OpenTelemetry
 * ones (semantic conventions for database clients where one exists); the Prometheus text turns them into
 * Prometheus names (dots to `_`, the unit as suffix, `_total` on counters): see `prometheusName`.
 * The `unit` attribute is the OTLP unit; it is not a label.
 */
import { Metric } from "effect"

/** One metric of the kernel, as documented in the README. */
export interface MetricDescription {
  readonly name: string
  readonly type: "Counter" | "Gauge" | "Histogram"
  /** UCUM unit, as OTLP carries it. */
  readonly unit: string
  readonly description: string
  /** The attributes (Prometheus labels) of its series. */
  readonly attributes: ReadonlyArray<string>
  /** Its Prometheus name, where the rule of `prometheusName` would give a name Prometheus reserves. */
  readonly prometheusName?: string
}

/** Every metric the kernel records, with its unit and attributes. */
export const catalog: ReadonlyArray<MetricDescription> = [
  {
    name: "db.client.operation.duration",
    type: "Histogram",
    unit: "s",
    description: "Duration of repository operations (UserRepository.create, ...), failed ones included.",
    attributes: ["db.operation.name", "error.type (failed calls only)"]
  },
  {
    name: "platform_kernel.operation.errors",
    type: "Counter",
    unit: "{error}",
    description: "Failed repository operations, by operation and error (domain errors included).",
    attributes: ["db.operation.name", "error.type"]
  },
  {
    name: "db.client.connection.count",
    type: "Gauge",
    unit: "{connection}",
    description: "Connections of the pool by state: used (checked out) or idle (open and free).",
    attributes: ["db.client.connection.pool.name", "db.client.connection.state"],
    // `_count` belongs to histograms in Prometheus: this is the conventions' earlier name, db.client.connections.usage.
    prometheusName: "db_client_connections_usage"
  },
  {
    name: "db.client.connection.pending_requests",
    type: "Gauge",
    unit: "{request}",
    description: "Callers waiting for a connection of the pool.",
    attributes: ["db.client.connection.pool.name"]
  },
  {
    name: "db.client.connection.max",
    type: "Gauge",
    unit: "{connection}",
    description: "The most connections the pool opens (database.pool.maxConnections).",
    attributes: ["db.client.connection.pool.name"]
  },
  {
    name: "platform_kernel.migrations.applied",
    type: "Counter",
    unit: "{migration}",
    description: "Migrations applied by this process, by history (kernel or service).",
    attributes: ["history"]
  },
  {
    name: "platform_kernel.audit.records.written",
    type: "Counter",
    unit: "{record}",
    description: "Audit records inserted by this process (counted once the insert succeeded).",
    attributes: []
  },
  {
    name: "platform_kernel.health.check.duration",
    type: "Histogram",
    unit: "s",
    description: "Duration of database health checks (/readyz, platform-kernel health), by result.",
    attributes: ["status"]
  },
  {
    name: "platform_kernel.database.host.lag",
    type: "Gauge",
    unit: "By",
    description:
      "WAL bytes a host of the pools has still to replay (0 for the primary), at the last health check; absent while unreachable.",
    attributes: ["server.address", "db.client.connection.pool.name", "platform_kernel.host.role"]
  },
  {
    name: "platform_kernel.database.host.lag.duration",
    type: "Gauge",
    unit: "s",
    description: "Seconds since the last commit a standby replayed (0 when nothing is left), at the last health check.",
    attributes: ["server.address", "db.client.connection.pool.name", "platform_kernel.host.role"]
  }
]

const described = (name: string): MetricDescription => {
  const found = catalog.find((metric) => metric.name === name)
  if (found === undefined) throw new Error(`no metric ${name} in the catalog`)
  return found
}

// The buckets the semantic conventions advise for db.client.operation.duration.
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]

const histogram = (name: string) => {
  const { description, unit } = described(name)
  return Metric.histogram(name, { description, boundaries: DURATION_BUCKETS, attributes: { unit } })
}

const counter = (name: string) => {
  const { description, unit } = described(name)
  return Metric.counter(name, { description, incremental: true, attributes: { unit } })
}

const gauge = (name: string) => {
  const { description, unit } = described(name)
  return Metric.gauge(name, { description, attributes: { unit } })
}

/** Seconds a repository operation took, by `db.operation.name`. */
export const operationDuration = histogram("db.client.operation.duration")
/** Failed repository operations, by `db.operation.name` and `error.type`. */
export const operationErrors = counter("platform_kernel.operation.errors")
/** The pool's connections by `db.client.connection.state`. */
export const connectionCount = gauge("db.client.connection.count")
/** Callers waiting for a connection. */
export const pendingRequests = gauge("db.client.connection.pending_requests")
/** The pool's maximum size. */
export const connectionMax = gauge("db.client.connection.max")
/** Migrations applied, by `history`. */
export const migrationsApplied = counter("platform_kernel.migrations.applied")
/** Audit records written. */
export const auditRecordsWritten = counter("platform_kernel.audit.records.written")
/** Seconds a health check took, by `status`. */
export const healthCheckDuration = histogram("platform_kernel.health.check.duration")
/** A host's replay lag in bytes, by `server.address`, pool and role (see `TopologyReport`). */
export const hostLag = gauge("platform_kernel.database.host.lag")
/** A standby's replay lag in seconds, by `server.address`, pool and role. */
export const hostLagDuration = gauge("platform_kernel.database.host.lag.duration")

const PROMETHEUS_UNITS: Readonly<Record<string, string>> = { s: "seconds", ms: "milliseconds", By: "bytes" }

/**
 * The Prometheus name of an OpenTelemetry metric name, as OpenTelemetry's Prometheus compatibility rules
 * give it: invalid characters to `_`, the unit as a suffix (annotations like `{connection}` are dropped),
 * and `_total` on counters. A name that is already Prometheus-shaped keeps its shape. The catalog may name
 * one otherwise (`db.client.connection.count`: `db_client_connections_usage`).
 */
export const prometheusName = (name: string, type: string, unit: string | undefined): string => {
  const renamed = catalog.find((metric) => metric.name === name)?.prometheusName
  if (renamed !== undefined) return renamed
  let result = name.replace(/[^a-zA-Z0-9_:]/g, "_").replace(/_+/g, "_")
  const suffix = unit === undefined ? undefined : PROMETHEUS_UNITS[unit]
  if (suffix !== undefined && !result.endsWith(`_${suffix}`)) result = `${result}_${suffix}`
  if ((type === "Counter" || type === "Frequency") && !result.endsWith("_total")) result = `${result}_total`
  return result
}
