/**
 * The kernel's metrics, read back from Effect's registry (a fresh one per test): per-operation durations and
 * errors, audit records, the pool gauges while connections are held and awaited (and gone once the pool has
 * closed), nothing at all under `Telemetry.layerDisabled`, and their Prometheus names.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, type Layer, Metric, Option } from "effect"
import { SqlClient } from "effect/sql"
import { UserRepository } from "../../../src/Database/Repositories/UserRepository.ts"
import { prometheusName } from "../../../src/Database/Telemetry/KernelMetrics.ts"
import * as Telemetry from "../../../src/Database/Telemetry/Telemetry.ts"
import { UserId } from "../../../src/Domain/index.ts"
import { makeHash, uniqueEmail } from "../../Contract/Fixtures.ts"
import { RepositoriesTestLayer } from "../../support/RepositoriesTestLayer.ts"

type Snapshots = ReadonlyArray<Metric.Metric.Snapshot>

const seriesOf = (snapshots: Snapshots, id: string, attributes: Record<string, string> = {}) =>
  snapshots.filter(
    (snapshot) =>
      snapshot.id === id && Object.entries(attributes).every(([key, value]) => snapshot.attributes?.[key] === value)
  )

const stateOf = (snapshots: Snapshots, id: string, attributes: Record<string, string> = {}): unknown => {
  const [series, ...others] = seriesOf(snapshots, id, attributes)
  assert.isDefined(series, `no series ${id} ${JSON.stringify(attributes)}`)
  assert.lengthOf(others, 0, `one series ${id} ${JSON.stringify(attributes)}`)
  return series!.state
}

const gauge = (snapshots: Snapshots, id: string, attributes: Record<string, string> = {}) =>
  (stateOf(snapshots, id, attributes) as Metric.GaugeState<number>).value

const counter = (snapshots: Snapshots, id: string, attributes: Record<string, string> = {}) =>
  (stateOf(snapshots, id, attributes) as Metric.CounterState<number>).count

const histogramCount = (snapshots: Snapshots, id: string, attributes: Record<string, string> = {}) =>
  (stateOf(snapshots, id, attributes) as Metric.HistogramState).count

/** Polls the registry until `ready` holds (the fibers it waits for run concurrently). */
const snapshotWhen = (ready: (snapshots: Snapshots) => boolean) =>
  Effect.gen(function* () {
    for (let attempt = 0; attempt < 500; attempt++) {
      const snapshots = yield* Metric.snapshot
      if (ready(snapshots)) return snapshots
      yield* Effect.sleep("10 millis")
    }
    return yield* Effect.die(new Error("the registry never reached the expected state"))
  })

const withFreshRegistry = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(effect, Metric.MetricRegistry, new Map())

const MISSING = UserId.make("00000000-0000-7000-8000-000000000000")

describe("kernel metrics", () => {
  it.live("a repository call's duration and errors, by operation and error type; audit records written", () =>
    withFreshRegistry(
      Effect.gen(function* () {
        const users = yield* UserRepository
        yield* users.create({ email: uniqueEmail("metrics"), passwordHash: makeHash() })
        yield* users.create({ email: uniqueEmail("metrics"), passwordHash: makeHash() })
        yield* Effect.flip(users.findById(MISSING))
        const snapshots = yield* Metric.snapshot
        const create = { "db.operation.name": "UserRepository.create" }
        assert.strictEqual(histogramCount(snapshots, "db.client.operation.duration", create), 2)
        assert.lengthOf(seriesOf(snapshots, "platform_kernel.operation.errors", create), 0, "no failure, no error")
        const notFound = { "db.operation.name": "UserRepository.findById", "error.type": "UserNotFound" }
        assert.strictEqual(counter(snapshots, "platform_kernel.operation.errors", notFound), 1)
        assert.strictEqual(histogramCount(snapshots, "db.client.operation.duration", notFound), 1)
        assert.strictEqual(counter(snapshots, "platform_kernel.audit.records.written"), 2, "one per created user")
        assert.strictEqual(counter(snapshots, "platform_kernel.migrations.applied", { history: "kernel" }), 0)
      }).pipe(Effect.provide(RepositoriesTestLayer()))
    )
  )

  it.live("the pool gauges count held connections and waiting callers, and are gone once the pool closes", () =>
    withFreshRegistry(
      Effect.gen(function* () {
        const pool = { "db.client.connection.pool.name": "pk-metrics-pool" }
        yield* Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const holding = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          const holder = yield* Effect.forkChild(
            sql.withTransaction(
              Effect.andThen(
                sql`SELECT 1`,
                Effect.andThen(Deferred.succeed(holding, undefined), Deferred.await(release))
              )
            )
          )
          yield* Deferred.await(holding)
          const waiter = yield* Effect.forkChild(sql`SELECT 2`)
          const state = (name: string) => ({ ...pool, "db.client.connection.state": name })
          // Released whatever the assertions say, so the pool can close.
          yield* Effect.gen(function* () {
            const busy = yield* snapshotWhen((snapshots) =>
              seriesOf(snapshots, "db.client.connection.pending_requests", pool).some(
                (series) => (series.state as Metric.GaugeState<number>).value === 1
              )
            )
            assert.strictEqual(gauge(busy, "db.client.connection.count", state("used")), 1)
            assert.strictEqual(gauge(busy, "db.client.connection.count", state("idle")), 0)
            assert.strictEqual(gauge(busy, "db.client.connection.max", pool), 1)
          }).pipe(Effect.ensuring(Deferred.succeed(release, undefined)))
          yield* Fiber.join(holder)
          yield* Fiber.join(waiter)
          const idle = yield* Metric.snapshot
          assert.strictEqual(gauge(idle, "db.client.connection.pending_requests", pool), 0)
          assert.strictEqual(gauge(idle, "db.client.connection.count", state("used")), 0)
          assert.strictEqual(gauge(idle, "db.client.connection.count", state("idle")), 1)
        }).pipe(
          Effect.provide(
            RepositoriesTestLayer({
              DATABASE_POOL_MAX_CONNECTIONS: "1",
              DATABASE_APPLICATION_NAME: "pk-metrics-pool"
            })
          )
        )
        const closed = yield* Metric.snapshot
        assert.lengthOf(seriesOf(closed, "db.client.connection.max", pool), 0, "unregistered with the pool")
        assert.lengthOf(seriesOf(closed, "db.client.connection.count", pool), 0)
      })
    )
  )

  it.live("Telemetry.layerDisabled: no kernel metric is recorded, no span is sampled", () =>
    withFreshRegistry(
      Effect.gen(function* () {
        const users = yield* UserRepository
        yield* users.create({ email: uniqueEmail("disabled"), passwordHash: makeHash() })
        yield* Effect.flip(users.findById(MISSING))
        const span = yield* Effect.option(Effect.currentSpan)
        assert.isTrue(Option.isNone(span) || !span.value.sampled)
        assert.deepStrictEqual(
          (yield* Metric.snapshot).map((snapshot) => snapshot.id),
          [],
          "nothing in the registry"
        )
      }).pipe(
        Effect.withSpan("disabled"),
        Effect.provide(RepositoriesTestLayer()),
        Effect.provide(Telemetry.layerDisabled)
      )
    )
  )

  it.effect("Prometheus text: OpenTelemetry names with the unit suffix, _total on counters", () =>
    withFreshRegistry(
      Effect.gen(function* () {
        yield* Metric.update(
          Metric.withAttributes(
            Metric.counter("platform_kernel.audit.records.written", {
              attributes: { unit: "{record}" }
            }),
            {}
          ),
          3
        )
        yield* Metric.update(Metric.counter("platform_kernel_permission_cache_hits", { description: "hits" }), 2)
        const text = yield* Telemetry.prometheusText
        assert.match(text, /^platform_kernel_audit_records_written_total 3$/m)
        assert.match(text, /^platform_kernel_permission_cache_hits_total 2$/m)
        assert.notInclude(text, "unit=", "the unit is not a label")
        assert.strictEqual(
          prometheusName("db.client.operation.duration", "Histogram", "s"),
          "db_client_operation_duration_seconds"
        )
        assert.strictEqual(
          prometheusName("db.client.connection.count", "Gauge", "{connection}"),
          "db_client_connections_usage"
        )
        assert.strictEqual(prometheusName("x_seconds", "Histogram", "s"), "x_seconds")
      })
    )
  )
})

// The layer type is what a consumer adds or leaves out.
const _optIn: Layer.Layer<never> = Telemetry.layerDisabled
void _optIn
