/**
 * The OTLP export, received on a loopback HTTP endpoint: one repository call under a caller's `traceparent`
 * gives its span and its SQL statement's span in the caller's trace, its metrics and its logs, and no secret
 * appears anywhere in what is sent.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Option, Redacted } from "effect"
import { Headers, HttpTraceContext } from "effect/http"
import { UserRepository } from "../../../src/Database/Repositories/UserRepository.ts"
import * as Telemetry from "../../../src/Database/Telemetry/Telemetry.ts"
import { makeHash, uniqueEmail } from "../../Contract/Fixtures.ts"
import { type OtlpRequest, otlpReceiver } from "../../support/OtlpReceiver.ts"
import { RepositoriesTestLayer } from "../../support/RepositoriesTestLayer.ts"

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
const CALLER_SPAN_ID = "00f067aa0ba902b7"
const KNOWN_PASSWORD = "Otlp-S3cr3t-Pw"

interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly kind: number
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: Record<string, unknown> }>
}

const spansIn = (received: ReadonlyArray<OtlpRequest>): ReadonlyArray<OtlpSpan> =>
  received
    .filter((request) => request.path === "/v1/traces")
    .flatMap((request) =>
      (JSON.parse(request.body).resourceSpans as Array<{ scopeSpans: Array<{ spans: Array<OtlpSpan> }> }>).flatMap(
        (resource) => resource.scopeSpans.flatMap((scope) => scope.spans)
      )
    )

const attribute = (span: OtlpSpan, key: string): unknown => {
  const found = span.attributes.find((entry) => entry.key === key)
  return found === undefined ? undefined : Object.values(found.value)[0]
}

describe("OTLP export", () => {
  it.live(
    "one repository call under a traceparent: its span and its SQL span in that trace, metrics and logs; no secret",
    () =>
      Effect.gen(function* () {
        const server = yield* otlpReceiver
        const hash = makeHash()
        const email = uniqueEmail("otlp")
        const caller = Option.getOrThrow(
          HttpTraceContext.fromHeaders(Headers.fromInput({ traceparent: `00-${TRACE_ID}-${CALLER_SPAN_ID}-01` }))
        )
        yield* Effect.gen(function* () {
          const users = yield* UserRepository
          yield* Effect.gen(function* () {
            const user = yield* users.create({ email, passwordHash: hash })
            // A secret handed to a logger is shown redacted, in the export as on the console.
            yield* Effect.logWarning("created", Redacted.make(KNOWN_PASSWORD)).pipe(
              Effect.annotateLogs({ userId: user.id, hash })
            )
          }).pipe(Effect.withParentSpan(caller))
        }).pipe(
          Effect.provide(RepositoriesTestLayer({ DATABASE_PASSWORD: KNOWN_PASSWORD })),
          // Outermost, as serve does: closing it sends the last batches.
          Effect.provide(
            Telemetry.layerOtlp({
              serviceName: "otlp-test",
              metrics: { enabled: true },
              otlp: {
                endpoint: server.url,
                protocol: "http/json",
                logs: true,
                exportInterval: Duration.seconds(30)
              }
            })
          )
        )

        const spans = spansIn(server.received)
        const create = spans.find((span) => span.name === "UserRepository.create")
        assert.isDefined(create, `spans: ${spans.map((span) => span.name).join(", ")}`)
        assert.strictEqual(create!.traceId, TRACE_ID, "joins the caller's trace")
        assert.strictEqual(create!.parentSpanId, CALLER_SPAN_ID, "a child of the caller's span")

        // The statements under the call: descendants of its span, in the same trace.
        const byId = new Map(spans.map((span) => [span.spanId, span]))
        const under = (span: OtlpSpan, ancestor: string): boolean => {
          for (let parent = span.parentSpanId; parent !== undefined; parent = byId.get(parent)?.parentSpanId) {
            if (parent === ancestor) return true
          }
          return false
        }
        const statements = spans.filter((span) => attribute(span, "db.query.text") !== undefined)
        const insert = statements.find(
          (span) => under(span, create!.spanId) && /INSERT INTO users/i.test(String(attribute(span, "db.query.text")))
        )
        assert.isDefined(insert, `statements: ${statements.map((span) => attribute(span, "db.query.text")).join("\n")}`)
        assert.strictEqual(insert!.traceId, TRACE_ID)
        assert.strictEqual(insert!.kind, 3, "a client span")
        assert.strictEqual(attribute(insert!, "db.system"), "postgresql")
        assert.strictEqual(attribute(insert!, "db.system.name"), "postgresql")
        assert.strictEqual(attribute(insert!, "db.operation"), "INSERT")
        assert.match(String(attribute(insert!, "db.query.text")), /\$1/, "parametrised")
        assert.notInclude(String(attribute(insert!, "db.query.text")), email, "no value in the statement text")

        const metrics = server.received.filter((request) => request.path === "/v1/metrics").map((r) => r.body)
        assert.isTrue(
          metrics.some(
            (body) => body.includes("db.client.operation.duration") && body.includes("UserRepository.create")
          ),
          "the call's duration is exported"
        )
        const logs = server.received.filter((request) => request.path === "/v1/logs").map((r) => r.body)
        const created = logs
          .flatMap((body) =>
            (
              JSON.parse(body).resourceLogs as Array<{
                scopeLogs: Array<{ logRecords: Array<{ traceId?: string; spanId?: string; body: unknown }> }>
              }>
            ).flatMap((resource) => resource.scopeLogs.flatMap((scope) => scope.logRecords))
          )
          .find((record) => JSON.stringify(record.body).includes("created"))
        assert.isDefined(created, "the log is exported")
        assert.strictEqual(created!.traceId, TRACE_ID, "with the trace id")
        assert.strictEqual(created!.spanId, CALLER_SPAN_ID, "and the span id it was logged in")

        // Not in spans, metric labels or logs: neither the hash, nor any part of it, nor the database password.
        const everything = server.received.map((request) => request.body).join("\n")
        assert.notInclude(everything, KNOWN_PASSWORD)
        assert.notInclude(everything, Redacted.value(hash))
        assert.notInclude(everything, "SECRETHASH")
        assert.notInclude(everything, "SECRETSALT")
      }),
    { timeout: 60_000 }
  )
})
