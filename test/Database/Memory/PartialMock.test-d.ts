import { Effect } from "effect"
import { describe, expectTypeOf, it } from "vitest"
import { mockLayer, partialMock } from "../../../src/Database/Memory/PartialMock.ts"
import { UserRepository } from "../../../src/Database/Repositories/UserRepository.ts"

// Checked by the type checker only (vitest's typecheck mode, part of `npm test`): never run.

type Implemented = Parameters<typeof partialMock<UserRepository, UserRepository["Service"]>>[1]

describe("partialMock and mockLayer types", () => {
  it("take some of the service's methods, with the service's own types", () => {
    expectTypeOf<Implemented>().toEqualTypeOf<Partial<UserRepository["Service"]>>()
    expectTypeOf(mockLayer<UserRepository, UserRepository["Service"]>)
      .parameter(1)
      .toEqualTypeOf<Partial<UserRepository["Service"]>>()
    expectTypeOf(partialMock(UserRepository, { findById: () => Effect.die("never run") })).toEqualTypeOf<
      UserRepository["Service"]
    >()
  })

  it("refuse a method the service does not have", () => {
    expectTypeOf<"findByName">().not.toExtend<keyof Implemented>()
    // @ts-expect-error: not a method of UserRepository
    partialMock(UserRepository, { findByName: () => Effect.void })
  })

  it("refuse a method whose result is not the service's", () => {
    expectTypeOf<{ readonly findById: () => Effect.Effect<string> }>().not.toExtend<Implemented>()
    // @ts-expect-error: findById returns a User, not a string
    partialMock(UserRepository, { findById: () => Effect.succeed("not a user") })
  })
})
