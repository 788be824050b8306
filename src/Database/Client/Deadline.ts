import { Effect, Fiber } from "effect"

/** A time limit and the failure it ends in. */
export interface Limit<E> {
  readonly millis: number
  readonly error: () => E
}

/**
 * Runs `body` in a fiber of its own and waits for it at most `wait.millis` until it calls `started` (e.g. once
 * it holds a connection), then at most `run.millis` more; without `wait`, the run limit counts from the
 * start. When a limit passes, the call fails with its error at once and `body` is interrupted in the
 * background, not awaited: an interrupted statement waits for the server to confirm the cancel (up to the
 * driver's drain timeout, seconds against a frozen server), which would stretch the bound. When the caller
 * itself is interrupted, `body` is interrupted and awaited, as without limits.
 *
 * One fiber and (usually) one timer per call, so it can wrap every statement: `Effect.timeout` would await the
 * loser.
 */
export const withDeadlines = <A, E, R, E2>(
  body: (started: () => void) => Effect.Effect<A, E, R>,
  limits: { readonly wait?: Limit<E2> | undefined; readonly run: Limit<E2> }
): Effect.Effect<A, E | E2, R> =>
  Effect.suspend(() => {
    const state: { started: boolean; onStarted: (() => void) | undefined } = {
      started: limits.wait === undefined,
      onStarted: undefined
    }
    const started = () => {
      if (state.started) return
      state.started = true
      state.onStarted?.()
    }
    return Effect.flatMap(Effect.forkDetach(body(started), { startImmediately: true }), (fiber) =>
      Effect.callback<A, E | E2>((resume) => {
        let done = false
        let timer: ReturnType<typeof setTimeout> | undefined
        let stopObserving = () => {}
        const finish = (outcome: Effect.Effect<A, E | E2>) => {
          if (done) return
          done = true
          clearTimeout(timer)
          stopObserving()
          resume(outcome)
        }
        const expire = (limit: Limit<E2>) => {
          // Answer first: interrupting can end the fiber at once, and its exit must not win.
          finish(Effect.fail(limit.error()))
          fiber.interruptUnsafe()
        }
        const arm = (limit: Limit<E2>, millis: number) => {
          clearTimeout(timer)
          timer = setTimeout(() => expire(limit), millis)
        }
        stopObserving = fiber.addObserver(finish)
        if (done) return
        if (state.started) arm(limits.run, limits.run.millis)
        else {
          const wait = limits.wait!
          const run = limits.run
          const waitEnds = performance.now() + wait.millis
          // When the run limit ends after the wait limit would have (the usual case: a statement starts well
          // within the acquire timeout), the wait timer is kept and only re-armed, for the rest, should it fire
          // while the statement still runs: one timer per call instead of two.
          let runEnds: number | undefined
          timer = setTimeout(() => {
            if (runEnds === undefined) return expire(wait)
            const left = runEnds - performance.now()
            if (left <= 0) expire(run)
            else arm(run, left)
          }, wait.millis)
          state.onStarted = () => {
            if (done) return
            const ends = performance.now() + run.millis
            if (ends >= waitEnds) runEnds = ends
            else arm(run, run.millis)
          }
        }
        return Effect.suspend(() => {
          done = true
          clearTimeout(timer)
          stopObserving()
          return Fiber.interrupt(fiber)
        })
      })
    )
  })
