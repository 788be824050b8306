import { Context, Effect, Metric } from "effect"
import * as KernelMetrics from "./KernelMetrics.ts"

/**
 * Whether the kernel records its metrics (see `KernelMetrics`); on unless a layer provides `false`, e.g.
 * `Telemetry.layerDisabled`. Read once per recorded event, so turning it off costs one reference lookup.
 */
export const KernelMetricsEnabled = Context.Reference<boolean>("platform-kernel/Telemetry/KernelMetricsEnabled", {
  defaultValue: () => true
})

/** Updates `metric` with `input` when `KernelMetricsEnabled` is on. */
export const record = <Input>(metric: Metric.Metric<Input, unknown>, input: Input): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    if (fiber.getRef(KernelMetricsEnabled)) metric.updateUnsafe(input, fiber.context)
    return Effect.void
  })

/** Counts `count` audit records inserted (`platform_kernel.audit.records.written`). */
export const countAuditRecords = (count: number): Effect.Effect<void> =>
  record(KernelMetrics.auditRecordsWritten, count)

const kernelHistory = Metric.withAttributes(KernelMetrics.migrationsApplied, { history: "kernel" })
const serviceHistory = Metric.withAttributes(KernelMetrics.migrationsApplied, { history: "service" })

/** Counts the migrations applied at startup (`platform_kernel.migrations.applied`), by history. */
export const countMigrationsApplied = (applied: { readonly kernel: number; readonly service?: number | undefined }) =>
  Effect.andThen(
    record(kernelHistory, applied.kernel),
    applied.service === undefined ? Effect.void : record(serviceHistory, applied.service)
  )

const healthUp = Metric.withAttributes(KernelMetrics.healthCheckDuration, { status: "up" })
const healthDown = Metric.withAttributes(KernelMetrics.healthCheckDuration, { status: "down" })

/** Records how long a health check took (`platform_kernel.health.check.duration`), by its result. */
export const recordHealthCheck = (status: "up" | "down", millis: number): Effect.Effect<void> =>
  record(status === "up" ? healthUp : healthDown, millis / 1000)

/**
 * Records each host's lag as the health check found it (`platform_kernel.database.host.lag` and `.duration`),
 * labelled with its address, pool and role, so the series also show which host is primary.
 */
export const recordTopology = (
  hosts: ReadonlyArray<{
    readonly address: string
    readonly pool: string
    readonly role: string
    readonly lagBytes: number | null
    readonly lagSeconds: number | null
  }>
): Effect.Effect<void> =>
  Effect.forEach(
    hosts,
    (host) => {
      const labels = {
        "server.address": host.address,
        "db.client.connection.pool.name": host.pool,
        "platform_kernel.host.role": host.role
      }
      return Effect.andThen(
        host.lagBytes === null
          ? Effect.void
          : record(Metric.withAttributes(KernelMetrics.hostLag, labels), host.lagBytes),
        host.lagSeconds === null
          ? Effect.void
          : record(Metric.withAttributes(KernelMetrics.hostLagDuration, labels), host.lagSeconds)
      )
    },
    { discard: true }
  )
