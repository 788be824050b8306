import { spawnSync } from "node:child_process"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
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

// Issue 18: the calls on a limit of one length share one timer (Deadline.ts, `Timeline`); each still ends at its own
// limit, a limit that passes answers at once, and the caller's interruption is awaited as before.
describe("withDeadlines, shared timer", () => {
  it.live("calls on the same limit each end at their own time, whatever the calls before them did", () =>
    Effect.gen(function* () {
      const run = limit(400, "run")
      // The first ends early, so the timer armed for it fires before the second's time; the second (started
      // 200 ms later, done 300 ms after its start) must not be ended then. The third never ends on its own.
      const first = yield* Effect.forkChild(Effect.exit(withDeadlines(body(0, 50), { run })))
      yield* Effect.sleep(200)
      const second = yield* Effect.forkChild(Effect.exit(withDeadlines(body(0, 300), { run })))
      const third = yield* Effect.forkChild(Effect.exit(withDeadlines(body(0, 60_000), { run })))
      assert.deepStrictEqual(yield* Fiber.join(first), Exit.succeed("done"))
      assert.deepStrictEqual(yield* Fiber.join(second), Exit.succeed("done"))
      assert.deepStrictEqual(yield* Fiber.join(third), Exit.fail("run"))
    })
  )

  it.live("a limit that passes answers at once, without awaiting the body's interruption", () =>
    Effect.gen(function* () {
      const cleanedUp = yield* Deferred.make<void>()
      // A body whose interruption takes long (a statement waiting for its cancel to be confirmed).
      const slowToStop = (_started: () => void) =>
        Effect.never.pipe(
          Effect.onInterrupt(() => Effect.andThen(Effect.sleep(5_000), Deferred.succeed(cleanedUp, undefined)))
        )
      const startedAt = Date.now()
      const exit = yield* Effect.exit(withDeadlines(slowToStop, { run: limit(100, "run") }))
      assert.deepStrictEqual(exit, Exit.fail("run"))
      assert.isBelow(Date.now() - startedAt, 2_500, "answered at the limit, not after the interruption")
      assert.isFalse(yield* Deferred.isDone(cleanedUp), "the interruption goes on in the background")
    })
  )

  it.live("the caller interrupted: the body is interrupted and awaited, its limit no longer counts", () =>
    Effect.gen(function* () {
      let finalized = false
      const slowToStop = (_started: () => void) =>
        Effect.never.pipe(
          Effect.onInterrupt(() =>
            Effect.andThen(
              Effect.sleep(300),
              Effect.sync(() => {
                finalized = true
              })
            )
          )
        )
      const call = yield* Effect.forkChild(withDeadlines(slowToStop, { run: limit(150, "run") }))
      yield* Effect.sleep(50)
      yield* Fiber.interrupt(call)
      assert.isTrue(finalized, "the body's interruption was awaited")
      const exit = yield* Fiber.await(call)
      assert.isTrue(Exit.hasInterrupts(exit), "interrupted, not ended by its limit")
    })
  )

  it("a pending call keeps the process alive until its limit; once none is pending, the timer does not", () => {
    const module = new URL("../../../src/Database/Client/Deadline.ts", import.meta.url).href
    const script = (program: string) =>
      spawnSync(process.execPath, ["--input-type=module", "-e", program], { encoding: "utf8", timeout: 20_000 })
    // Nothing else keeps this process alive: only the pending call's limit can end it, and it must; also when a
    // call before it on the same limit left the timer armed (and released) when it ended.
    const pending = script(`
      import { Effect, Exit } from "effect"
      import { withDeadlines } from ${JSON.stringify(module)}
      const run = { millis: 300, error: () => "run" }
      await Effect.runPromise(withDeadlines(() => Effect.void, { run }))
      await Effect.runPromise(withDeadlines(() => Effect.sleep(10), { run }))
      const exit = await Effect.runPromise(Effect.exit(withDeadlines(() => Effect.callback(() => {}), { run })))
      console.log(JSON.stringify(Exit.isFailure(exit) ? exit.cause.reasons.map((r) => r.error) : "success"))
    `)
    assert.strictEqual(pending.stdout.trim(), '["run"]', pending.stderr)
    // A call that ended long before its (30 s) limit leaves nothing that holds the process.
    const startedAt = Date.now()
    const ended = script(`
      import { Effect } from "effect"
      import { withDeadlines } from ${JSON.stringify(module)}
      console.log(await Effect.runPromise(withDeadlines(() => Effect.as(Effect.sleep(20), "done"), {
        run: { millis: 30_000, error: () => "run" }
      })))
    `)
    assert.strictEqual(ended.stdout.trim(), "done", ended.stderr)
    assert.isBelow(Date.now() - startedAt, 10_000, "the process ended without waiting for the limit")
  })
})
