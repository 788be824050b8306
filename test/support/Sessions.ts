import { Effect } from "effect"
import { withAdmin } from "./adminClient.ts"
import { adminUrl } from "./TestDatabase.ts"

/** How many sessions the test server has open under the `application_name` `applicationName`. */
export const sessionsNamed = (applicationName: string): Effect.Effect<number> =>
  withAdmin(adminUrl(), (admin) =>
    admin<{
      readonly count: number
    }>`SELECT count(*)::int AS count FROM pg_stat_activity WHERE application_name = ${applicationName}`.pipe(
      Effect.map((rows) => rows[0]!.count)
    )
  ).pipe(Effect.orDie)
