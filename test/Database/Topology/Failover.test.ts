/**
 * A failover under load on a real HA cluster: pg_auto_failover (monitor, primary, two secondaries with
 * synchronous replication) on loopback, its failure detection shortened to about a second. The primary's host
 * is lost (`kill -9` of its pg_autoctl and postmaster) while repository writes, group-committed audit appends,
 * permission checks and replica reads run through the library (see FailoverScenario.ts); the library must
 * write again by itself, lose no acknowledged write, store no append twice, give no stale permission answer,
 * and /readyz's check must go down and come back. Skipped, with the reason, where pg_autoctl is missing.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { afterAll, beforeAll } from "vitest"
import {
  type AutoFailoverCluster,
  autoFailoverUnavailable,
  startAutoFailoverCluster
} from "../../support/AutoFailoverCluster.ts"
import { runFailoverScenario } from "../../support/FailoverScenario.ts"

const unavailable = await autoFailoverUnavailable()
if (unavailable !== undefined) console.warn(`failover test skipped: ${unavailable}`)

describe.skipIf(unavailable !== undefined)(
  `failover on pg_auto_failover${unavailable === undefined ? "" : ` (skipped: ${unavailable})`}`,
  () => {
    let cluster: AutoFailoverCluster
    beforeAll(async () => {
      cluster = await startAutoFailoverCluster()
    }, 120_000)
    afterAll(() => cluster?.stop())

    it.live(
      "the primary's host is lost under load: writes resume by themselves and nothing acknowledged is lost",
      () =>
        Effect.gen(function* () {
          const figures = yield* runFailoverScenario(cluster, {
            warmupMs: 3_000,
            afterRecoveryMs: 3_000,
            maxWaitMs: 45_000
          })
          const summary = JSON.stringify(figures)
          assert.isDefined(figures.secondsToFirstWrite, `no write after the kill: ${summary}`)
          assert.notStrictEqual(figures.newPrimary, figures.killedNode, summary)
          assert.isAbove(figures.usersAcknowledged, 0)
          assert.strictEqual(figures.usersFound, figures.usersAcknowledged, summary)
          assert.isAbove(figures.appendsAcknowledged, 0)
          assert.strictEqual(figures.appendsFound, figures.appendsAcknowledged, summary)
          assert.strictEqual(figures.duplicates, 0, summary)
          assert.strictEqual(figures.staleAnswers, 0, summary)
          assert.isAbove(figures.permissionChecks, 0)
          assert.isAbove(figures.replicaReads, 0, summary)
          assert.isTrue(figures.readyzDownSeen, `readyz never went down: ${summary}`)
          assert.isTrue(figures.readyzUpAgain, `readyz did not come back: ${summary}`)
          assert.deepStrictEqual(figures.hung, {}, summary)
        }),
      180_000
    )
  }
)
