import type { Effect, Redacted, Stream } from "effect"
import { describe, expectTypeOf, it } from "vitest"
import type { AuditLogRepository, ListAuditLogs } from "../../src/Database/Repositories/AuditLogRepository.ts"
import type { ListPermissions, PermissionRepository } from "../../src/Database/Repositories/PermissionRepository.ts"
import type { EnsureRoleWithPermissions, RoleRepository } from "../../src/Database/Repositories/RoleRepository.ts"
import type { ListRequest, UpdateUser, UserRepository } from "../../src/Database/Repositories/UserRepository.ts"
import type { AuditEvent, AuditEventOf, User, UserId } from "../../src/Domain/index.ts"

// Checked with this project's tsconfig: `exactOptionalPropertyTypes` and `noUncheckedIndexedAccess` on, as in
// the strictest consumer. A consumer passes what it holds, `undefined` included, without building objects key
// by key.
declare const users: UserRepository["Service"]
declare const roles: RoleRepository["Service"]
declare const permissions: PermissionRepository["Service"]
declare const audit: AuditLogRepository["Service"]
declare const maybeCursor: string | undefined
declare const maybeLimit: number | undefined
declare const maybeText: string | undefined
declare const maybeFlag: boolean | undefined
declare const maybeHash: Redacted.Redacted<string> | undefined
declare const maybeActor: UserId | undefined

describe("optional inputs under exactOptionalPropertyTypes", () => {
  it("take a possibly undefined value as is", () => {
    expectTypeOf(users.list).toBeCallableWith({ cursor: maybeCursor })
    expectTypeOf(users.list).toBeCallableWith({ cursor: maybeCursor, limit: maybeLimit })
    expectTypeOf(users.stream).toBeCallableWith({ cursor: maybeCursor, limit: maybeLimit })
    expectTypeOf(roles.list).toBeCallableWith({ cursor: maybeCursor })
    expectTypeOf(permissions.list).toBeCallableWith({ cursor: maybeCursor, module: maybeText })
    expectTypeOf(audit.list).toBeCallableWith({ cursor: maybeCursor, actorId: maybeActor, action: maybeText })
    expectTypeOf(users.update).parameter(1).toEqualTypeOf<UpdateUser>()
    expectTypeOf<{
      email: string | undefined
      passwordHash: typeof maybeHash
      verified: typeof maybeFlag
    }>().toExtend<UpdateUser>()
    expectTypeOf(roles.create).toBeCallableWith({ name: "admin", description: maybeText })
    expectTypeOf(roles.update).parameter(1).toExtend<{ readonly name?: string | undefined }>()
    expectTypeOf(permissions.create).toBeCallableWith({ name: "iam.users.read", description: maybeText })
    expectTypeOf(audit.append).toBeCallableWith({ action: "app.done", targetId: maybeText, actorId: maybeActor })
    expectTypeOf<{
      name: string
      description: string | undefined
      permissions: Array<string>
    }>().toExtend<EnsureRoleWithPermissions>()
    expectTypeOf<{ cursor: string | undefined }>().toExtend<ListRequest>()
    expectTypeOf<{ module: string | undefined }>().toExtend<ListPermissions>()
    expectTypeOf<{ targetId: string | undefined }>().toExtend<ListAuditLogs>()
  })

  it("stream every page as one call", () => {
    expectTypeOf(users.stream({ cursor: maybeCursor })).toEqualTypeOf<
      Stream.Stream<
        User,
        import("../../src/Domain/index.ts").InvalidInput | import("../../src/Domain/index.ts").DatabaseUnavailable
      >
    >()
  })

  it("decode the audit vocabulary into typed metadata", () => {
    const metadataOf = (event: AuditEvent) => (event.action === "user.email_changed" ? event.metadata : undefined)
    expectTypeOf(metadataOf).returns.toEqualTypeOf<
      { readonly previousEmail: string; readonly email: string } | undefined
    >()
    expectTypeOf<AuditEventOf<"user.password_changed">["metadata"]>().toEqualTypeOf<{ readonly email: string }>()
    expectTypeOf<Effect.Effect<void>>().not.toBeAny()
  })
})
