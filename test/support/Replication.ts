/** What the replica tests do to a throwaway primary and its streaming standby. */
import { Effect } from "effect"
import type { ThrowawayServer } from "./ThrowawayPostgres.ts"

/** The client sessions named `name` (application_name) open on `server`. */
export const sessionsOn = (server: ThrowawayServer, name: string): Effect.Effect<number> =>
  Effect.promise(async () =>
    Number(
      (
        await server.psql(
          `SELECT count(*) FROM pg_stat_activity WHERE application_name = '${name}' AND backend_type = 'client backend'`
        )
      ).trim()
    )
  )

/** Pauses (or resumes) the standby's WAL replay: it lags on purpose while paused. */
export const setReplayPaused = (standby: ThrowawayServer, paused: boolean): Effect.Effect<void> =>
  Effect.asVoid(
    Effect.promise(() => standby.psql(paused ? "SELECT pg_wal_replay_pause()" : "SELECT pg_wal_replay_resume()"))
  )
