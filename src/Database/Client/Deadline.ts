import { Effect, Exit, Fiber } from "effect"

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
 * One fiber per call, and no timer of its own: the calls waiting on a limit of the same length share one (see
 * `Timeline`), so it can wrap every statement. `Effect.timeout` would await the loser.
 */
export const withDeadlines = <A, E, R, E2>(
  body: (started: () => void) => Effect.Effect<A, E, R>,
  limits: { readonly wait?: Limit<E2> | undefined; readonly run: Limit<E2> }
): Effect.Effect<A, E | E2, R> =>
  Effect.withFiber((parent) => {
    const call = new BoundedCall<A, E | E2>(limits.wait, limits.run)
    // `Effect.forkDetach(…, { startImmediately: true })` in this very step: a fiber of its own, not the caller's
    // child, with the caller's context (which holds what the body needs), run at once up to its first wait.
    const run = body(call.started) as Effect.Effect<A, E>
    const fiber: Fiber.Fiber<A, E | E2> = Effect.runForkWith(parent.context)(run)
    return fiber.pollUnsafe() ?? Effect.callback<A, E | E2>((resume) => call.watch(fiber, resume))
  })

/**
 * The calls waiting on a limit of one length, in the order their time ends: each is added with the current time
 * plus that same length, so the order they are added in is the order they end in. One timer is armed for the
 * first; when it fires it ends the calls whose time has passed and is armed again for the first left. A call
 * that ends in time is only unlinked: the timer is never cleared, and keeps the process alive only while some
 * call waits (as a timer of the call's own would). Under load it fires about once per length, against a timer
 * set and cleared per call.
 */
class Timeline {
  private first: BoundedCall<never, never> | undefined = undefined
  private last: BoundedCall<never, never> | undefined = undefined
  private timer: ReturnType<typeof setTimeout> | undefined = undefined

  readonly millis: number

  constructor(millis: number) {
    this.millis = millis
  }

  add(call: BoundedCall<never, never>, limit: Limit<unknown>) {
    call.endsAt = performance.now() + this.millis
    call.limit = limit
    call.timeline = this
    call.previous = this.last
    call.next = undefined
    if (this.last === undefined) {
      this.first = call
      // Armed already (for a call that ended since): it fires no later than this call's end.
      if (this.timer === undefined) this.arm(this.millis)
      else this.timer.ref()
    } else this.last.next = call
    this.last = call
  }

  remove(call: BoundedCall<never, never>) {
    if (call.previous === undefined) this.first = call.next
    else call.previous.next = call.next
    if (call.next === undefined) this.last = call.previous
    else call.next.previous = call.previous
    call.previous = undefined
    call.next = undefined
    call.timeline = undefined
    if (this.first === undefined) this.timer?.unref()
  }

  private arm(millis: number) {
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(millis)))
  }

  private readonly fire = () => {
    this.timer = undefined
    const now = performance.now()
    for (let call = this.first; call !== undefined && call.endsAt <= now; call = this.first) {
      this.remove(call)
      call.expire()
    }
    // A call added meanwhile (a caller answered above went on to its next statement) may have armed it again.
    if (this.timer !== undefined) return
    if (this.first !== undefined) this.arm(this.first.endsAt - now)
    else timelines.delete(this.millis)
  }
}

const timelines = new Map<number, Timeline>()
const timelineOf = (millis: number): Timeline => {
  let timeline = timelines.get(millis)
  if (timeline === undefined) {
    timeline = new Timeline(millis)
    timelines.set(millis, timeline)
  }
  return timeline
}

/** One call of `withDeadlines`: its state, and its place on the timeline of the limit it waits on. */
class BoundedCall<A, E> {
  endsAt = 0
  limit: Limit<unknown> | undefined = undefined
  timeline: Timeline | undefined = undefined
  previous: BoundedCall<never, never> | undefined = undefined
  next: BoundedCall<never, never> | undefined = undefined
  private readonly wait: Limit<unknown> | undefined
  private readonly run: Limit<unknown>
  private begun: boolean
  private done = false
  private fiber: Fiber.Fiber<A, E> | undefined = undefined
  private resume: ((outcome: Effect.Effect<A, E>) => void) | undefined = undefined
  private stopObserving: (() => void) | undefined = undefined

  constructor(wait: Limit<unknown> | undefined, run: Limit<unknown>) {
    this.wait = wait
    this.run = run
    this.begun = wait === undefined
  }

  /** Given to the body: from now on only the run limit counts, from now. */
  readonly started = () => {
    if (this.begun) return
    this.begun = true
    // Before `watch` (the body started at once) nothing is on a timeline yet: `watch` puts it on the run's.
    if (this.timeline === undefined || this.done) return
    this.timeline.remove(this.self)
    timelineOf(this.run.millis).add(this.self, this.run)
  }

  watch(fiber: Fiber.Fiber<A, E>, resume: (outcome: Effect.Effect<A, E>) => void): Effect.Effect<void> | undefined {
    this.fiber = fiber
    this.resume = resume
    this.stopObserving = fiber.addObserver(this.finish)
    // Ended already (within its first steps): answered, nothing to bound.
    if (this.done) return undefined
    const limit = this.begun ? this.run : this.wait!
    timelineOf(limit.millis).add(this.self, limit)
    return Effect.suspend(this.cancel)
  }

  /** Its time on the timeline ran out. */
  expire() {
    // Answer first: interrupting can end the fiber at once, and its exit must not win.
    this.settle(Exit.fail(this.limit!.error() as E))
    this.fiber!.interruptUnsafe()
  }

  private readonly finish = (exit: Exit.Exit<A, E>) => this.settle(exit)

  private settle(outcome: Effect.Effect<A, E>) {
    if (this.done) return
    this.done = true
    this.leaveTimeline()
    this.stopObserving?.()
    this.resume!(outcome)
  }

  // The caller was interrupted: the body is interrupted and awaited.
  private readonly cancel = () => {
    this.done = true
    this.leaveTimeline()
    this.stopObserving?.()
    return Fiber.interrupt(this.fiber!)
  }

  private leaveTimeline() {
    this.timeline?.remove(this.self)
  }

  // The timelines hold calls of any type: only their timing fields and `expire` are used there.
  private get self(): BoundedCall<never, never> {
    return this as unknown as BoundedCall<never, never>
  }
}
