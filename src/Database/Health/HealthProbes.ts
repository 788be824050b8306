import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { DatabaseHealth } from "./DatabaseHealth.ts"

/** Options of `HealthProbes.routes`. */
export interface HealthProbeOptions {
  /** True once shutdown has begun: `/readyz` then answers 503 so load balancers stop routing here. */
  readonly draining?: () => boolean
}

/**
 * `GET /healthz`: the process is alive (no database involved, so a slow database never gets the process
 * restarted). `GET /readyz`: the database health as JSON, 503 when it is down or the process is draining.
 */
export const routes = (options: HealthProbeOptions = {}) =>
  Layer.mergeAll(
    HttpRouter.add("GET", "/healthz", HttpServerResponse.jsonUnsafe({ status: "ok" })),
    HttpRouter.add(
      "GET",
      "/readyz",
      Effect.gen(function* () {
        if (options.draining?.() === true) {
          return HttpServerResponse.jsonUnsafe({ status: "draining" }, { status: 503 })
        }
        const health = yield* DatabaseHealth
        const report = yield* health.check
        return HttpServerResponse.jsonUnsafe(report, { status: report.status === "up" ? 200 : 503 })
      })
    )
  )

/** The probes of a process that never drains (see `routes`). */
export const layer = routes()
