import { Schema } from "effect"
import { Model } from "effect/schema"
import { Entity, UserId } from "platform-kernel"

// A login service's own tables, declared once: the kit gives each a repository on PostgreSQL and in
// memory, typed errors, audit, paging and the catalog check (see migrations/0001_auth.sql).

export const SessionId = Schema.String.pipe(Schema.check(Schema.isUUID()), Schema.brand("SessionId"))
export type SessionId = typeof SessionId.Type

export class Session extends Model.Class<Session>("Session")({
  id: SessionId,
  userId: UserId,
  tokenHash: Model.Sensitive(Schema.NonEmptyString),
  expiresAt: Schema.DateTimeUtcFromDate,
  createdAt: Model.DateTimeInsertFromDate
}) {}

export class SessionNotFound extends Schema.TaggedError<SessionNotFound>()("SessionNotFound", Entity.NotFoundFields) {}
export class SessionTokenTaken extends Schema.TaggedError<SessionTokenTaken>()(
  "SessionTokenTaken",
  Entity.KeyTakenFields
) {}

export const Sessions = Entity.make(Session, {
  table: "auth.sessions",
  notFound: SessionNotFound,
  keys: { tokenHash: SessionTokenTaken },
  references: { userId: { to: "users", onDelete: "cascade" } },
  filters: ["userId"],
  order: ["createdAt", "id"],
  audit: { namespace: "auth.session", secret: ["tokenHash"] }
})

export class SessionRepository extends Entity.Repository<SessionRepository>()("auth/SessionRepository", Sessions) {}

// An API key: its name is unique per user (a composite key); it may name the session it was made in.

export const ApiKeyId = Schema.String.pipe(Schema.check(Schema.isUUID()), Schema.brand("ApiKeyId"))
export type ApiKeyId = typeof ApiKeyId.Type

export class ApiKey extends Model.Class<ApiKey>("ApiKey")({
  id: ApiKeyId,
  userId: UserId,
  name: Schema.NonEmptyString,
  sessionId: Schema.NullOr(SessionId),
  createdAt: Model.DateTimeInsertFromDate,
  updatedAt: Model.DateTimeUpdateFromDate
}) {}

export class ApiKeyNotFound extends Schema.TaggedError<ApiKeyNotFound>()("ApiKeyNotFound", Entity.NotFoundFields) {}
export class ApiKeyNameTaken extends Schema.TaggedError<ApiKeyNameTaken>()("ApiKeyNameTaken", Entity.KeyTakenFields) {}

export const ApiKeys = Entity.make(ApiKey, {
  table: "auth.api_keys",
  notFound: ApiKeyNotFound,
  keys: { nameOfUser: { columns: ["userId", "name"], error: ApiKeyNameTaken } },
  references: {
    userId: { to: "users", onDelete: "cascade" },
    sessionId: { to: Sessions, onDelete: "set null" }
  },
  filters: ["userId", "name"],
  order: ["name", "id"],
  audit: { namespace: "auth.api_key" }
})

export class ApiKeyRepository extends Entity.Repository<ApiKeyRepository>()("auth/ApiKeyRepository", ApiKeys) {}
