/**
 * The whole repository contract through a real PgBouncer in transaction mode, with `database.pgbouncer: true`,
 * on a database the migrations build through the bouncer too.
 */
import { describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { AppConfig } from "../../../src/Config/AppConfig.ts"
import * as Database from "../../../src/Database/Database.ts"
import * as RepositoryLayers from "../../../src/Database/RepositoryLayers.ts"
import { repositoryContract } from "../../Contract/RepositoryContract.ts"
import { pgBouncerUnavailable, startPgBouncer } from "../../support/PgBouncer.ts"
import { adminUrl, scopedDatabase, testConfig } from "../../support/TestDatabase.ts"

const unavailable = pgBouncerUnavailable()

const ThroughPgBouncer = Layer.unwrap(
  Effect.gen(function* () {
    const database = yield* scopedDatabase({ from: "empty" })
    const bouncer = yield* startPgBouncer({ upstreamUrl: adminUrl() })
    const config = yield* testConfig({ DATABASE_URL: bouncer.url(database.name), DATABASE_PGBOUNCER: "true" })
    return RepositoryLayers.layer.pipe(
      Layer.provideMerge(Database.layer),
      Layer.provideMerge(AppConfig.layerFrom(config))
    )
  })
)

if (unavailable === undefined) {
  repositoryContract("PostgreSQL through PgBouncer (transaction mode)", ThroughPgBouncer)
} else {
  console.warn(`PgBouncer contract skipped: ${unavailable}`)
  describe.skip(`repository contract through PgBouncer (skipped: ${unavailable})`, () => {
    it("runs only where PgBouncer is installed", () => {})
  })
}
