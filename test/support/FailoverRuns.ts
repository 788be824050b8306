/**
 * The figures of three failover runs (see README "Failover test"), each on a new pg_auto_failover cluster:
 *   node test/support/FailoverRuns.ts [runs]
 * Not part of the suite: it takes a few minutes and its times depend on the machine's load.
 */
import { Effect } from "effect"
import { autoFailoverUnavailable, startAutoFailoverCluster } from "./AutoFailoverCluster.ts"
import { runFailoverScenario } from "./FailoverScenario.ts"

const unavailable = await autoFailoverUnavailable()
if (unavailable !== undefined) {
  console.error(`cannot run: ${unavailable}`)
  process.exit(1)
}
const runs = Number(process.argv[2] ?? 3)
for (let index = 1; index <= runs; index++) {
  const cluster = await startAutoFailoverCluster()
  try {
    const figures = await Effect.runPromise(runFailoverScenario(cluster))
    console.log(JSON.stringify({ run: index, ...figures }))
  } finally {
    await cluster.stop()
  }
}
