import { type Duration, Effect, Option, Schedule } from "effect"

/**
 * Runs `effect` every 20 ms until `done` holds of its result, for at most `timeout`, and returns the last
 * result: the test asserts on it, so a condition never reached fails with the value last seen. For state
 * that settles asynchronously (sessions closing on the server), in place of a fixed sleep.
 */
export const eventually = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  done: (value: A) => boolean,
  timeout: Duration.Input = "10 seconds"
): Effect.Effect<A, E, R> =>
  effect.pipe(
    Effect.repeat({ until: done, schedule: Schedule.spaced("20 millis") }),
    Effect.timeoutOption(timeout),
    Effect.flatMap(Option.match({ onSome: Effect.succeed, onNone: () => effect }))
  )
