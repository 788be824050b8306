import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { withDeadlines } from "../../../src/Database/Client/Deadline.ts"

// Outcomes only, with wide margins: which limit ends a call, never how fast.
const limit = (millis: number, name: string) => ({ millis, error: () => name })

/** A body that starts after `startAfter` ms and then runs `runFor` ms (real time). */
const body = (startAfter: number, runFor: number) => (started: () => void) =>
  Effect.sleep(startAfter).pipe(
    Effect.tap(() => Effect.sync(started)),
    Effect.andThen(Effect.sleep(runFor)),
    Effect.as("done")
  )

describe("withDeadlines", () => {
  it.live("a run that started in time outlives the wait limit: only the run limit ends it", () =>
    Effect.gen(function* () {
      // Started at once, runs past the wait limit (50 ms) but well within the run limit (1 s).
      const exit = yield* Effect.exit(
        withDeadlines(body(0, 200), { wait: limit(50, "wait"), run: limit(1_000, "run") })
      )
      assert.deepStrictEqual(exit, Exit.succeed("done"))
    })
  )

  it.live("when the wait timer fires during the run, the run still ends at the run limit", () =>
    Effect.gen(function* () {
      // Started at once; the wait timer (50 ms) fires while it runs and re-arms for the run limit's rest.
      const exit = yield* Effect.exit(
        withDeadlines(body(0, 5_000), { wait: limit(50, "wait"), run: limit(300, "run") })
      )
      assert.deepStrictEqual(exit, Exit.fail("run"))
    })
  )

  it.live("a run limit shorter than the rest of the wait limit is kept", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        withDeadlines(body(0, 5_000), { wait: limit(10_000, "wait"), run: limit(100, "run") })
      )
      assert.deepStrictEqual(exit, Exit.fail("run"))
    })
  )

  it.live("a body that never starts ends at the wait limit", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        withDeadlines(body(5_000, 0), { wait: limit(100, "wait"), run: limit(10_000, "run") })
      )
      assert.deepStrictEqual(exit, Exit.fail("wait"))
    })
  )
})
