import { type Context, Data, Effect, Layer } from "effect"

/** The defect of calling a method that a partial mock does not implement. */
export class UnimplementedMockMethod extends Data.TaggedError("UnimplementedMockMethod")<{
  readonly service: string
  readonly method: string
}> {
  override get message(): string {
    return `${this.service}.${this.method} is not implemented in this mock`
  }
}

// Names that libraries probe on any object (promise resolution, JSON, test matchers, React/DOM checks).
// Answering them with a method would make the mock look like a thenable or a matcher.
const probedNames: ReadonlySet<string> = new Set([
  "then",
  "toJSON",
  "asymmetricMatch",
  "$$typeof",
  "nodeType",
  "tagName"
])

/** `platform-kernel/Database/UserRepository` -> `UserRepository`. */
const shortName = (key: string): string => key.slice(key.lastIndexOf("/") + 1)

/**
 * A service of which only `implemented` is real: any other method returns an effect that dies with
 * `UnimplementedMockMethod` ("UserRepository.delete is not implemented in this mock"), so a test fails loudly
 * when the code under test calls something the test did not expect.
 */
export const partialMock = <Identifier, Shape extends object>(
  service: Context.Service<Identifier, Shape>,
  implemented: Partial<Shape>
): Shape => {
  const name = shortName(service.key)
  return new Proxy(implemented as Shape, {
    get(target, property, receiver) {
      if (typeof property === "symbol" || property in target || probedNames.has(property)) {
        return Reflect.get(target, property, receiver)
      }
      // Dies when the returned effect runs, not when the member is read, so merely passing the mock around
      // (or destructuring it) is harmless.
      return () => Effect.die(new UnimplementedMockMethod({ service: name, method: property }))
    }
  })
}

/**
 * A layer providing `partialMock(service, implemented)`, e.g.
 * `mockLayer(UserRepository, { findById: () => Effect.succeed(user) })`.
 */
export const mockLayer = <Identifier, Shape extends object>(
  service: Context.Service<Identifier, Shape>,
  implemented: Partial<Shape>
): Layer.Layer<Identifier> => Layer.succeed(service, partialMock(service, implemented))
