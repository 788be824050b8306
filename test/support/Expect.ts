import { assert } from "@effect/vitest"
import { Effect, Result } from "effect"
import { InvalidInput } from "../../src/Domain/index.ts"

/** The tags of the tagged errors in `E`. */
type TagOf<E> = E extends { readonly _tag: infer Tag extends string } ? Tag : never

/** Fails the test unless `effect` fails; returns the error. */
const failureOf = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<E, never, R> =>
  Effect.map(Effect.result(effect), (result) =>
    Result.isFailure(result) ? result.failure : assert.fail("expected a failure, but the call succeeded")
  )

/**
 * Fails the test unless `effect` fails with the error tagged `tag`, and returns that error with its own type,
 * so a test reads its fields without a cast. Only tags that `effect` can fail with are accepted.
 */
export const expectFailure = <A, E, R, const Tag extends TagOf<E>>(
  effect: Effect.Effect<A, E, R>,
  tag: Tag
): Effect.Effect<Extract<E, { readonly _tag: Tag }>, never, R> =>
  Effect.map(failureOf(effect), (error) => {
    assert.strictEqual((error as { readonly _tag?: unknown })._tag, tag)
    return error as Extract<E, { readonly _tag: Tag }>
  })

/** Fails the test unless `effect` fails with an instance of `errorClass`; returns it with that type. */
export const expectError = <A, E, R, Error>(
  effect: Effect.Effect<A, E, R>,
  errorClass: abstract new (...args: never) => Error
): Effect.Effect<Error, never, R> =>
  Effect.map(failureOf(effect), (error) =>
    error instanceof errorClass ? error : assert.fail(`expected a ${errorClass.name}, got ${String(error)}`)
  )

/** Fails the test unless `effect` fails with `InvalidInput` on `field`; returns the error. */
export const expectInvalid = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  field: string
): Effect.Effect<InvalidInput, never, R> =>
  Effect.map(expectError(effect, InvalidInput), (error) => {
    assert.strictEqual(error.field, field, `expected InvalidInput on ${field}`)
    return error
  })
