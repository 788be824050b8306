/** Issue 17: a declaration is checked by the compiler, and the repository's types are the declared ones. */

import type { Effect } from "effect"
import { Schema } from "effect"
import { Model } from "effect/schema"
import { describe, expectTypeOf, it } from "vitest"
import type {
  ApiKey,
  ApiKeyNameTaken,
  ApiKeyNotFound,
  ApiKeyRepository,
  Session,
  SessionNotFound,
  SessionRepository,
  SessionTokenTaken
} from "../../../examples/auth-sessions/src/AuthEntities.ts"
import * as Entity from "../../../src/Database/Entity/EntityKit.ts"
import type { DatabaseUnavailable, InvalidInput, UserNotFound } from "../../../src/Domain/index.ts"

class Thing extends Model.Class<Thing>("Thing")({ id: Schema.String, name: Schema.String }) {}
class ThingNotFound extends Schema.TaggedError<ThingNotFound>()("ThingNotFound", Entity.NotFoundFields) {}
class ThingTaken extends Schema.TaggedError<ThingTaken>()("ThingTaken", Entity.KeyTakenFields) {}

describe("Entity.make", () => {
  it("refuses names that are not fields", () => {
    // @ts-expect-error a single-column key is named after its field
    Entity.make(Thing, { table: "things", notFound: ThingNotFound, keys: { title: ThingTaken } })
    Entity.make(Thing, {
      table: "things",
      notFound: ThingNotFound,
      // @ts-expect-error a composite key names fields
      keys: { k: { columns: ["title"], error: ThingTaken } }
    })
    // @ts-expect-error filters are fields
    Entity.make(Thing, { table: "things", notFound: ThingNotFound, filters: ["title"] })
    // @ts-expect-error references name a kernel table or an entity
    Entity.make(Thing, { table: "things", notFound: ThingNotFound, references: { name: { to: "groups" } } })
  })
})

describe("the repository", () => {
  it("has a findBy method per unique key, typed by its fields", () => {
    type Sessions = SessionRepository["Service"]
    type ApiKeys = ApiKeyRepository["Service"]
    expectTypeOf<Parameters<Sessions["findByTokenHash"]>[0]>().toEqualTypeOf<string>()
    expectTypeOf<Parameters<ApiKeys["findByNameOfUser"]>[0]>().toEqualTypeOf<{
      readonly userId: ApiKey["userId"]
      readonly name: string
    }>()
    expectTypeOf<Sessions>().not.toHaveProperty("findByUserId")
  })

  it("has an ensureBy method per unique key, taking a create input and telling whether it created the row", () => {
    type Sessions = SessionRepository["Service"]
    type ApiKeys = ApiKeyRepository["Service"]
    expectTypeOf<Parameters<Sessions["ensureByTokenHash"]>[0]>().toEqualTypeOf<Parameters<Sessions["create"]>[0]>()
    expectTypeOf<ReturnType<ApiKeys["ensureByNameOfUser"]>>().toEqualTypeOf<
      Effect.Effect<
        Entity.EnsuredRow<ApiKey>,
        InvalidInput | ApiKeyNameTaken | UserNotFound | SessionNotFound | DatabaseUnavailable
      >
    >()
    expectTypeOf<Sessions>().not.toHaveProperty("ensureByUserId")
  })

  it("filters a page by the prefix of a text filter field only", () => {
    type ApiKeys = ApiKeyRepository["Service"]
    type Sessions = SessionRepository["Service"]
    type ApiKeyList = NonNullable<Parameters<ApiKeys["list"]>[0]>
    expectTypeOf<NonNullable<ApiKeyList["startsWith"]>>().toEqualTypeOf<{ readonly name?: string | undefined }>()
    const keys = {} as ApiKeys
    keys.list({ startsWith: { name: "ci-" }, limit: 10 })
    // @ts-expect-error userId is a filter, but not text: it has no prefix
    keys.list({ startsWith: { userId: "0190" } })
    const sessions = {} as Sessions
    // @ts-expect-error tokenHash is no filter
    sessions.list({ startsWith: { tokenHash: "abc" } })
  })

  it("fails with the declared errors only", () => {
    type Sessions = SessionRepository["Service"]
    expectTypeOf<ReturnType<Sessions["findById"]>>().toEqualTypeOf<
      Effect.Effect<Session, SessionNotFound | InvalidInput | DatabaseUnavailable>
    >()
    type SessionCreateError = Effect.Error<ReturnType<Sessions["create"]>>
    expectTypeOf<SessionCreateError>().toEqualTypeOf<
      InvalidInput | SessionTokenTaken | UserNotFound | DatabaseUnavailable
    >()
    type ApiKeyUpdateError = Effect.Error<ReturnType<ApiKeyRepository["Service"]["update"]>>
    expectTypeOf<ApiKeyUpdateError>().toEqualTypeOf<
      ApiKeyNotFound | InvalidInput | ApiKeyNameTaken | UserNotFound | SessionNotFound | DatabaseUnavailable
    >()
  })
})
