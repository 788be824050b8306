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
 * One fiber and one timer per call, so it can wrap every statement: `Effect.timeout` would await the loser.
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
        const arm = (limit: Limit<E2>) => {
          clearTimeout(timer)
          timer = setTimeout(() => {
            // Answer first: interrupting can end the fiber at once, and its exit must not win.
            finish(Effect.fail(limit.error()))
            fiber.interruptUnsafe()
          }, limit.millis)
        }
        stopObserving = fiber.addObserver(finish)
        if (done) return
        if (state.started) arm(limits.run)
        else {
          arm(limits.wait!)
          state.onStarted = () => {
            if (!done) arm(limits.run)
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
