/**
 * `serve` observed as operators run it: a real Prometheus scrapes its `/metrics` and answers a query for one of
 * its metrics, `promtool` accepts the text, and the OTLP export (received on a loopback endpoint) holds the
 * span of a `/readyz` request in the trace its `traceparent` header named. No secret shows in either.
 */
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { freePort } from "../support/freePort.ts"
import { otlpReceiver } from "../support/OtlpReceiver.ts"
import { scopedDatabase } from "../support/TestDatabase.ts"
import { MIGRATIONS_TABLE } from "../support/urls.ts"
import { pollUntil, startCli } from "./runCli.ts"

const PROMETHEUS = "/usr/bin/prometheus"
const PROMTOOL = "/usr/bin/promtool"
const unavailable = [PROMETHEUS, PROMTOOL].find((binary) => !existsSync(binary))
if (unavailable !== undefined) {
  console.warn(`Prometheus test skipped: ${unavailable} is missing (apt-get install prometheus)`)
}

const KNOWN_SECRET = "Pr0m-S3cr3t-Pw"
const TRACE_ID = "5af7651916cd43dd8448eb211c80319d"
const CALLER_SPAN_ID = "c7ad6b7169203331"

/** A process killed (and awaited) when the scope closes. */
const scopedProcess = (command: string, args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] })
      let stderr = ""
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr = (stderr + chunk).slice(-4000)
      })
      const exited = new Promise<void>((resolve) => child.once("close", () => resolve()))
      return { child, stderr: () => stderr, exited }
    }),
    ({ child, exited }) =>
      Effect.promise(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
        await exited
      })
  )

const tempDirectory = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "pk-prometheus-"))),
  (directory) => Effect.sync(() => rmSync(directory, { recursive: true, force: true }))
)

describe.skipIf(unavailable !== undefined)(
  `serve observed by Prometheus and an OTLP collector${unavailable === undefined ? "" : ` (skipped: ${unavailable} is missing)`}`,
  () => {
    it.live(
      "Prometheus scrapes /metrics and answers a query for a metric; promtool accepts it; /readyz joins the caller's trace",
      () =>
        Effect.gen(function* () {
          const database = yield* scopedDatabase({ from: "template" })
          const collector = yield* otlpReceiver
          const port = yield* Effect.promise(freePort)
          const applicationName = `pk-e2e-metrics-${process.pid}`
          const url = new URL(database.url)
          url.password = KNOWN_SECRET
          const serve = yield* Effect.acquireRelease(
            Effect.sync(() =>
              startCli(["serve"], {
                env: {
                  DATABASE_URL: url.toString(),
                  DATABASE_MIGRATIONS_TABLE: MIGRATIONS_TABLE,
                  DATABASE_APPLICATION_NAME: applicationName,
                  DATABASE_POOL_MAX_CONNECTIONS: "7",
                  HTTP_HOST: "127.0.0.1",
                  HTTP_PORT: String(port),
                  LOG_FORMAT: "json",
                  // The standard variable, as an operator's deployment would set it.
                  OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
                  OTEL_SERVICE_NAME: "pk-e2e",
                  TELEMETRY_OTLP_PROTOCOL: "http/json",
                  TELEMETRY_OTLP_LOGS: "true",
                  TELEMETRY_OTLP_EXPORT_INTERVAL: "500 millis"
                },
                timeoutMs: 120_000
              })
            ),
            (running) =>
              Effect.promise(async () => {
                if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill("SIGKILL")
                await running.exited
              })
          )
          const exitedEarly = () =>
            serve.child.exitCode !== null ? `serve exited ${serve.child.exitCode}: ${serve.stderr()}` : undefined
          const base = `http://127.0.0.1:${port}`
          yield* Effect.promise(() =>
            pollUntil(
              "GET /readyz answers 200, joining the caller's trace",
              async () => {
                const response = await fetch(`${base}/readyz`, {
                  headers: { traceparent: `00-${TRACE_ID}-${CALLER_SPAN_ID}-01` },
                  signal: AbortSignal.timeout(5_000)
                })
                await response.text()
                return response.status === 200 ? true : undefined
              },
              { timeoutMs: 60_000, abort: exitedEarly }
            )
          )

          // The text Prometheus scrapes: promtool's own check accepts it.
          const metrics = yield* Effect.promise(async () => {
            const response = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5_000) })
            assert.strictEqual(response.status, 200)
            assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/)
            return response.text()
          })
          assert.match(metrics, /^db_client_connection_max\{db_client_connection_pool_name="pk-e2e-metrics-\d+"\} 7$/m)
          assert.match(metrics, /^# TYPE platform_kernel_health_check_duration_seconds histogram$/m)
          assert.notInclude(metrics, KNOWN_SECRET)
          const check = spawnSync(PROMTOOL, ["check", "metrics"], { input: metrics, encoding: "utf8" })
          assert.strictEqual(check.status, 0, `promtool check metrics:\n${check.stdout}${check.stderr}\n${metrics}`)

          // A real Prometheus scrapes it, and its HTTP API answers for one of the metrics.
          const directory = yield* tempDirectory
          const prometheusPort = yield* Effect.promise(freePort)
          writeFileSync(
            join(directory, "prometheus.yml"),
            [
              "global:",
              "  scrape_interval: 1s",
              "scrape_configs:",
              "  - job_name: platform-kernel",
              "    static_configs:",
              `      - targets: ["127.0.0.1:${port}"]`,
              ""
            ].join("\n")
          )
          const prometheus = yield* scopedProcess(PROMETHEUS, [
            `--config.file=${join(directory, "prometheus.yml")}`,
            `--storage.tsdb.path=${join(directory, "data")}`,
            `--web.listen-address=127.0.0.1:${prometheusPort}`
          ])
          const query = encodeURIComponent(`db_client_connection_max{job="platform-kernel"}`)
          const answer = yield* Effect.promise(() =>
            pollUntil(
              "Prometheus answers the query with the scraped value",
              async () => {
                const response = await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/query?query=${query}`, {
                  signal: AbortSignal.timeout(5_000)
                })
                const body = (await response.json()) as {
                  data?: { result?: Array<{ metric: Record<string, string>; value: [number, string] }> }
                }
                return body.data?.result?.[0]
              },
              {
                timeoutMs: 60_000,
                abort: () =>
                  prometheus.child.exitCode !== null
                    ? `prometheus exited ${prometheus.child.exitCode}: ${prometheus.stderr()}`
                    : exitedEarly()
              }
            )
          )
          assert.strictEqual(answer.value[1], "7")
          assert.strictEqual(answer.metric.db_client_connection_pool_name, applicationName)

          // On SIGTERM the last batches are sent: the /readyz span is in the caller's trace.
          serve.child.kill("SIGTERM")
          const result = yield* Effect.promise(() => serve.exited)
          assert.strictEqual(result.code, 0, result.stderr)
          const traces = collector.received.filter(({ path }) => path === "/v1/traces").map(({ body }) => body)
          const spans = traces.flatMap((body) =>
            (
              JSON.parse(body).resourceSpans as Array<{
                scopeSpans: Array<{ spans: Array<{ traceId: string; parentSpanId?: string; name: string }> }>
              }>
            ).flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans))
          )
          const server = spans.find((span) => span.traceId === TRACE_ID && span.parentSpanId === CALLER_SPAN_ID)
          assert.isDefined(server, `spans: ${spans.map((span) => `${span.name} ${span.traceId}`).join(", ")}`)
          assert.isTrue(
            spans.some((span) => span.traceId === TRACE_ID && span.name === "DatabaseHealth.check"),
            "the check runs in that trace"
          )
          assert.isTrue(
            collector.received.some(({ path, body }) => path === "/v1/metrics" && body.includes("pk-e2e")),
            "metrics exported under the service name"
          )
          const everything = collector.received.map(({ body }) => body).join("\n")
          assert.notInclude(everything, KNOWN_SECRET)
        }),
      { timeout: 180_000 }
    )
  }
)
