import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { DatabaseHealth } from "./DatabaseHealth.ts"

/**
 * `GET /healthz`: the process is alive (no database involved, so a slow database never gets the process
 * restarted). `GET /readyz`: the database health as JSON, 503 when it is down.
 */
export const HealthProbeRoutes = Layer.mergeAll(
  HttpRouter.add("GET", "/healthz", HttpServerResponse.jsonUnsafe({ status: "ok" })),
  HttpRouter.add(
    "GET",
    "/readyz",
    Effect.gen(function* () {
      const health = yield* DatabaseHealth
      const report = yield* health.check
      return HttpServerResponse.jsonUnsafe(report, { status: report.status === "up" ? 200 : 503 })
    })
  )
)
