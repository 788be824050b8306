import { Effect, Metric, type Scope } from "effect"
import * as KernelMetrics from "./KernelMetrics.ts"
import { KernelMetricsEnabled } from "./MetricsSwitch.ts"

// The driver's connection keeps these on itself; its pool does not say how many it holds. A pinned one (a
// transaction's) is a view of its `base`.
interface ConnectionState {
  readonly closed?: boolean
  readonly deadWith?: unknown
  readonly base?: object
}

const sessionOf = (connection: object): object => (connection as ConnectionState).base ?? connection

/**
 * What a pool is doing, counted where its client checks connections out: callers waiting for one, connections
 * checked out, and the connections handed out so far that are still open. The driver's pool does not expose
 * its size, so a connection counts as open once it has been handed out (the first statement does so within
 * startup) until it is closed.
 */
export class PoolUsage {
  waiting = 0
  used = 0
  private readonly connections = new Set<object>()

  /** Connections handed out at least once and not closed since. */
  open(): number {
    for (const connection of this.connections) {
      const state = connection as ConnectionState
      if (state.closed === true || state.deadWith !== undefined) this.connections.delete(connection)
    }
    return Math.max(this.connections.size, this.used)
  }

  /**
   * Runs `use`: a wait for a connection, then its use, counted as waiting until `use` calls `checkedOut` with
   * the connection, then as used until `use` ends.
   */
  borrow<A, E, R>(use: (checkedOut: (connection: object) => void) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.suspend(() => {
      let holding = false
      this.waiting++
      return Effect.ensuring(
        use((connection) => {
          if (holding) return
          holding = true
          this.waiting--
          this.used++
          this.connections.add(sessionOf(connection))
        }),
        Effect.sync(() => {
          if (holding) this.used--
          else this.waiting--
        })
      )
    })
  }

  /** A checkout held until its scope closes (a transaction, a reserved connection): waiting, then used. */
  checkout<C extends object, E>(acquire: Effect.Effect<C, E, Scope.Scope>): Effect.Effect<C, E, Scope.Scope> {
    return Effect.suspend(() => {
      let holding = false
      this.waiting++
      return Effect.onExit(
        Effect.tap(acquire, (connection) =>
          Effect.andThen(
            Effect.sync(() => {
              holding = true
              this.waiting--
              this.used++
              this.connections.add(sessionOf(connection))
            }),
            Effect.addFinalizer(() =>
              Effect.sync(() => {
                this.used--
              })
            )
          )
        ),
        () =>
          Effect.sync(() => {
            if (!holding) this.waiting--
          })
      )
    })
  }
}

/**
 * Publishes `usage` as the pool gauges of `poolName` (`db.client.connection.count` by state,
 * `db.client.connection.pending_requests`, `db.client.connection.max`), read when metrics are collected, until
 * the scope closes. Nothing when `KernelMetricsEnabled` is off.
 */
export const registerPoolGauges = (usage: PoolUsage, options: { readonly poolName: string; readonly max: number }) =>
  Effect.acquireRelease(
    Effect.withFiber((fiber) => {
      if (!fiber.getRef(KernelMetricsEnabled)) return Effect.succeed([])
      const pool = { "db.client.connection.pool.name": options.poolName }
      const gauge = (metric: Metric.Gauge<number>, attributes: Record<string, string>, value: () => number) =>
        Metric.registerUnsafe(Metric.withAttributes(metric, { ...pool, ...attributes }), fiber.context, {
          get: () => ({ value: value() }),
          update: () => {},
          modify: () => {}
        })
      return Effect.succeed([
        gauge(KernelMetrics.connectionCount, { "db.client.connection.state": "used" }, () => usage.used),
        gauge(KernelMetrics.connectionCount, { "db.client.connection.state": "idle" }, () =>
          Math.max(0, usage.open() - usage.used)
        ),
        gauge(KernelMetrics.pendingRequests, {}, () => usage.waiting),
        gauge(KernelMetrics.connectionMax, {}, () => options.max)
      ])
    }),
    (registrations) =>
      Effect.sync(() => {
        for (const registration of registrations) registration.remove()
      })
  )
