import { Context, DateTime, Effect, Layer, Option, Redacted, Schema, Stream } from "effect"
import fc from "fast-check"
import { AuditLogRepository } from "../../src/Database/Repositories/AuditLogRepository.ts"
import { PermissionRepository } from "../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../src/Database/Repositories/RoleRepository.ts"
import { UserRepository } from "../../src/Database/Repositories/UserRepository.ts"
import { AuditMetadata, withActor } from "../../src/Domain/index.ts"
import type { ContractServices } from "../Contract/Fixtures.ts"
import {
  cursorLike,
  dateTimeLike,
  descriptionLike,
  emailLike,
  idLike,
  inputLike,
  limitLike,
  metadataLike,
  orHostile,
  passwordHashLike,
  permissionNameLike,
  requestLike,
  roleNameLike,
  token,
  volatileInputs
} from "./HostileInputs.ts"

/** Rows committed before the hostile calls, so that generated inputs can name existing rows too. */
export interface HostileFixtureRows {
  readonly userIds: ReadonlyArray<string>
  readonly emails: ReadonlyArray<string>
  readonly roleIds: ReadonlyArray<string>
  readonly roleNames: ReadonlyArray<string>
  readonly permissionIds: ReadonlyArray<string>
  readonly permissionNames: ReadonlyArray<string>
  readonly modules: ReadonlyArray<string>
  readonly auditLogIds: ReadonlyArray<string>
  readonly actions: ReadonlyArray<string>
  /** A `nextCursor` of each listing. */
  readonly cursors: ReadonlyArray<string>
}

export class HostileFixtures extends Context.Service<HostileFixtures, HostileFixtureRows>()(
  "test/Hostile/HostileFixtures"
) {
  /** A few users, roles, permissions, links and audit records, written (and committed) once. */
  static readonly layer = Layer.effect(
    HostileFixtures,
    Effect.gen(function* () {
      const users = yield* UserRepository
      const roles = yield* RoleRepository
      const permissions = yield* PermissionRepository
      const audit = yield* AuditLogRepository
      const tag = Math.random().toString(36).slice(2, 8)
      const createdUsers = yield* Effect.forEach([1, 2, 3], (n) =>
        users.create({ email: `hostile${n}.${tag}@example.io`, passwordHash: Redacted.make(`$hash$${n}`) })
      )
      const createdRoles = yield* Effect.forEach([1, 2, 3], (n) => roles.create({ name: `hostile-${n}-${tag}` }))
      const createdPermissions = yield* Effect.forEach([1, 2, 3], (n) =>
        permissions.create({ name: `hostile${tag}.things${n}.read`, description: `reads things ${n}` })
      )
      yield* users.assignRole(createdUsers[0]!.id, createdRoles[0]!.id)
      yield* roles.grant(createdRoles[0]!.id, createdPermissions[0]!.id)
      const logs = yield* audit
        .appendMany([
          { action: "hostile.fixture", targetId: "target-1", metadata: { n: 1 } },
          { action: "hostile.fixture", targetId: "target-2", metadata: { n: 2 } }
        ])
        .pipe(withActor(createdUsers[0]!.id))
      const cursors = yield* Effect.all([
        users.list({ limit: 1 }),
        roles.list({ limit: 1 }),
        permissions.list({ limit: 1 }),
        audit.list({ limit: 1 })
      ])
      return HostileFixtures.of({
        userIds: createdUsers.map((user) => user.id),
        emails: createdUsers.map((user) => user.email),
        roleIds: createdRoles.map((role) => role.id),
        roleNames: createdRoles.map((role) => role.name),
        permissionIds: createdPermissions.map((permission) => permission.id),
        permissionNames: createdPermissions.map((permission) => permission.name),
        modules: [`hostile${tag}`],
        auditLogIds: logs.map((log) => log.id),
        actions: ["hostile.fixture", "user.created", "role.permission_granted"],
        cursors: cursors.flatMap((page) => Option.toArray(page.nextCursor))
      })
    })
  )
}

export type HostileServices = ContractServices | HostileFixtures

/** One public method: how to call it with generated arguments, and how to check a success. */
export interface MethodCase {
  readonly name: string
  /** The typed errors the method declares. */
  readonly errors: ReadonlyArray<string>
  readonly args: fc.Arbitrary<ReadonlyArray<unknown>>
  readonly call: (...args: ReadonlyArray<unknown>) => Effect.Effect<unknown, unknown, HostileServices>
  /** On success: a description of how what was stored differs from what was given, if it does. */
  readonly verify?: (
    args: ReadonlyArray<unknown>,
    result: unknown
  ) => Effect.Effect<string | undefined, unknown, HostileServices>
}

// Methods are called with whatever was generated: the point is what the repositories do with it.
type Loose = (...args: ReadonlyArray<unknown>) => Effect.Effect<unknown, unknown>
type LooseStream = (...args: ReadonlyArray<unknown>) => Stream.Stream<unknown, unknown>

const loose = (method: unknown): Loose => method as Loose

const collect = (method: unknown, args: ReadonlyArray<unknown>) =>
  Stream.runCollect(Stream.take((method as LooseStream)(...args), 1_000))

/** A rendering of a value that is equal for equal values: options, redacted text, dates and records included. */
export const canonical = (value: unknown): string => {
  if (Redacted.isRedacted(value)) return `Redacted(${canonical(Redacted.value(value))})`
  if (Option.isOption(value)) return Option.isSome(value) ? `Some(${canonical(value.value)})` : "None"
  if (DateTime.isDateTime(value)) return `DateTime(${DateTime.toEpochMillis(value)})`
  if (value instanceof Date) return `Date(${value.getTime()})`
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`
  if (typeof value === "object" && value !== null)
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(",")}}`
  if (typeof value === "bigint") return `${value}n`
  return JSON.stringify(value) ?? String(value)
}

const field = (input: unknown, key: string): unknown =>
  typeof input === "object" && input !== null ? (input as Record<string, unknown>)[key] : undefined

/** Differences between `actual` and `expected` (each an exact value), as `name: expected → actual`. */
const differences = (pairs: ReadonlyArray<readonly [string, unknown, unknown]>): string | undefined => {
  const differing = pairs.filter(([, actual, expected]) => canonical(actual) !== canonical(expected))
  return differing.length === 0
    ? undefined
    : differing
        .map(([name, actual, expected]) => `${name}: given ${canonical(expected)}, stored ${canonical(actual)}`)
        .join("; ")
}

/** The documented normalisation of an e-mail address: trimmed, ASCII letters lower-cased. */
const normalisedEmail = (email: string) => email.trim().replace(/[A-Z]/g, (letter) => letter.toLowerCase())

const readsBack = <R>(name: string, stored: unknown, read: Effect.Effect<unknown, unknown, R>) =>
  Effect.map(read, (back) =>
    canonical(back) === canonical(stored)
      ? undefined
      : `${name} reads back ${canonical(back)}, not ${canonical(stored)}`
  )

const firstOf = (...found: ReadonlyArray<string | undefined>) => found.find((text) => text !== undefined)

const hashText = (hash: unknown) => (Redacted.isRedacted(hash) ? Redacted.value(hash) : undefined)

/** Metadata given is stored as its JSON (or, when the given object answered differently on each read, stored valid). */
const metadataDifference = (given: unknown, stored: unknown): string | undefined => {
  if (typeof given === "object" && given !== null && containsVolatile(given))
    return Schema.is(AuditMetadata)(stored) ? undefined : `metadata stored is not valid metadata: ${canonical(stored)}`
  return differences([["metadata", stored, given ?? {}]])
}

const containsVolatile = (value: object): boolean =>
  volatileInputs.has(value) ||
  Object.values(value).some((member) => typeof member === "object" && member !== null && volatileInputs.has(member))

const userCases = (rows: HostileFixtureRows): ReadonlyArray<MethodCase> => {
  const userId = idLike(rows.userIds)
  const roleId = idLike(rows.roleIds)
  const listRequest = fc.oneof(
    fc.constant(undefined),
    requestLike({ limit: limitLike, cursor: cursorLike(rows.cursors) })
  )
  const hasRole = (user: unknown, role: (name: string) => boolean) =>
    UserRepository.use((users) =>
      Effect.map(users.rolesOf(String(user).toLowerCase() as never), (held) => held.some((r) => role(r.name)))
    )
  const readUser = (id: unknown) => UserRepository.use((users) => users.findById(String(id).toLowerCase() as never))
  const roleNamed = (id: unknown) => RoleRepository.use((roles) => roles.findById(String(id).toLowerCase() as never))
  const errors = ["InvalidInput", "DatabaseUnavailable"]
  return [
    {
      name: "UserRepository.create",
      errors: [...errors, "EmailAlreadyTaken"],
      args: fc.tuple(
        inputLike(
          {
            email: orHostile(emailLike(rows.emails)),
            passwordHash: passwordHashLike,
            verified: orHostile(fc.boolean())
          },
          ["email", "passwordHash"]
        )
      ),
      call: (input) => UserRepository.use((users) => loose(users.create)(input)),
      verify: ([input], user) =>
        Effect.gen(function* () {
          const stored = user as { id: string; email: string; passwordHash: unknown; verified: boolean }
          return firstOf(
            differences([
              ["email", stored.email, normalisedEmail(String(field(input, "email")))],
              ["passwordHash", hashText(stored.passwordHash), hashText(field(input, "passwordHash"))],
              ["verified", stored.verified, field(input, "verified") ?? false]
            ]),
            yield* readsBack("user", stored, readUser(stored.id))
          )
        })
    },
    {
      name: "UserRepository.findById",
      errors: [...errors, "UserNotFound"],
      args: fc.tuple(userId),
      call: (id) => UserRepository.use((users) => loose(users.findById)(id))
    },
    {
      name: "UserRepository.findByEmail",
      errors: [...errors, "UserNotFound"],
      args: fc.tuple(orHostile(emailLike(rows.emails))),
      call: (email) => UserRepository.use((users) => loose(users.findByEmail)(email))
    },
    {
      name: "UserRepository.list",
      errors,
      args: fc.tuple(listRequest),
      call: (request) => UserRepository.use((users) => loose(users.list)(request))
    },
    {
      name: "UserRepository.stream",
      errors,
      args: fc.tuple(listRequest),
      call: (request) => UserRepository.use((users) => collect(users.stream, [request]))
    },
    {
      name: "UserRepository.update",
      errors: [...errors, "UserNotFound", "EmailAlreadyTaken"],
      args: fc.tuple(
        userId,
        requestLike({
          email: orHostile(emailLike(rows.emails)),
          passwordHash: passwordHashLike,
          verified: orHostile(fc.boolean())
        })
      ),
      call: (id, patch) => UserRepository.use((users) => loose(users.update)(id, patch)),
      verify: ([, patch], user) =>
        Effect.gen(function* () {
          const stored = user as { id: string; email: string; passwordHash: unknown; verified: boolean }
          const email = field(patch, "email")
          const hash = field(patch, "passwordHash")
          const verified = field(patch, "verified")
          return firstOf(
            differences([
              ...(email === undefined ? [] : [["email", stored.email, normalisedEmail(String(email))] as const]),
              ...(hash === undefined ? [] : [["passwordHash", hashText(stored.passwordHash), hashText(hash)] as const]),
              ...(verified === undefined ? [] : [["verified", stored.verified, verified] as const])
            ]),
            yield* readsBack("user", stored, readUser(stored.id))
          )
        })
    },
    {
      name: "UserRepository.delete",
      errors: [...errors, "UserNotFound"],
      args: fc.tuple(userId),
      call: (id) => UserRepository.use((users) => loose(users.delete)(id)),
      verify: ([id]) =>
        Effect.map(Effect.exit(readUser(id)), (exit) =>
          exit._tag === "Success" ? "the user is still there" : undefined
        )
    },
    {
      name: "UserRepository.assignRole",
      errors: [...errors, "UserNotFound", "RoleNotFound"],
      args: fc.tuple(userId, roleId),
      call: (user, role) => UserRepository.use((users) => loose(users.assignRole)(user, role)),
      verify: ([user, role]) =>
        Effect.gen(function* () {
          const { name } = yield* roleNamed(role)
          return (yield* hasRole(user, (held) => held === name)) ? undefined : "the role is not assigned"
        })
    },
    {
      name: "UserRepository.assignRoleByName",
      errors: [...errors, "UserNotFound", "RoleNotFound"],
      args: fc.tuple(userId, orHostile(roleNameLike(rows.roleNames))),
      call: (user, role) => UserRepository.use((users) => loose(users.assignRoleByName)(user, role)),
      verify: ([user, role]) =>
        Effect.map(
          hasRole(user, (held) => held === role),
          (has) => (has ? undefined : "the role is not assigned")
        )
    },
    {
      name: "UserRepository.removeRole",
      errors: [...errors, "UserNotFound", "RoleNotFound"],
      args: fc.tuple(userId, roleId),
      call: (user, role) => UserRepository.use((users) => loose(users.removeRole)(user, role)),
      verify: ([user, role]) =>
        Effect.gen(function* () {
          const { name } = yield* roleNamed(role)
          return (yield* hasRole(user, (held) => held === name)) ? "the role is still assigned" : undefined
        })
    },
    {
      name: "UserRepository.rolesOf",
      errors: [...errors, "UserNotFound"],
      args: fc.tuple(userId),
      call: (id) => UserRepository.use((users) => loose(users.rolesOf)(id))
    },
    {
      name: "UserRepository.permissionsOf",
      errors: [...errors, "UserNotFound"],
      args: fc.tuple(userId),
      call: (id) => UserRepository.use((users) => loose(users.permissionsOf)(id))
    },
    {
      name: "UserRepository.hasPermission",
      errors,
      args: fc.tuple(userId, orHostile(permissionNameLike(rows.permissionNames))),
      call: (id, permission) => UserRepository.use((users) => loose(users.hasPermission)(id, permission))
    },
    {
      name: "UserRepository.findWithAccess",
      errors: [...errors, "UserNotFound"],
      args: fc.tuple(userId),
      call: (id) => UserRepository.use((users) => loose(users.findWithAccess)(id))
    }
  ]
}

const namedRowVerify =
  (name: string, read: (id: string) => Effect.Effect<unknown, unknown, HostileServices>, exactDescription: boolean) =>
  ([input]: ReadonlyArray<unknown>, row: unknown) =>
    Effect.gen(function* () {
      const stored = row as { id: string; name: string; description: string }
      const description = field(input, "description")
      return firstOf(
        differences([
          ["name", stored.name, field(input, "name")],
          ...(exactDescription ? [["description", stored.description, description ?? ""] as const] : [])
        ]),
        yield* readsBack(name, stored, read(stored.id))
      )
    })

const roleCases = (rows: HostileFixtureRows): ReadonlyArray<MethodCase> => {
  const roleId = idLike(rows.roleIds)
  const permissionId = idLike(rows.permissionIds)
  const roleName = orHostile(roleNameLike(rows.roleNames))
  const permissionName = orHostile(permissionNameLike(rows.permissionNames))
  const createRole = inputLike({ name: roleName, description: orHostile(descriptionLike) }, ["name"])
  const readRole = (id: string) => RoleRepository.use((roles) => roles.findById(id as never))
  const holds = (role: unknown, permission: (name: string) => boolean) =>
    RoleRepository.use((roles) =>
      Effect.map(roles.permissionsOf(String(role).toLowerCase() as never), (held) =>
        held.some((p) => permission(p.name))
      )
    )
  const permissionNamed = (id: unknown) =>
    PermissionRepository.use((permissions) => permissions.findById(String(id).toLowerCase() as never))
  const errors = ["InvalidInput", "DatabaseUnavailable"]
  return [
    {
      name: "RoleRepository.create",
      errors: [...errors, "RoleNameTaken"],
      args: fc.tuple(createRole),
      call: (input) => RoleRepository.use((roles) => loose(roles.create)(input)),
      verify: namedRowVerify("role", readRole, true)
    },
    {
      name: "RoleRepository.ensure",
      errors,
      args: fc.tuple(createRole),
      call: (input) => RoleRepository.use((roles) => loose(roles.ensure)(input)),
      verify: namedRowVerify("role", readRole, false)
    },
    {
      name: "RoleRepository.ensureWithPermissions",
      errors,
      args: fc.tuple(
        inputLike(
          {
            name: roleName,
            description: orHostile(descriptionLike),
            permissions: orHostile(
              fc.oneof(
                { arbitrary: fc.array(permissionName, { maxLength: 4 }), weight: 5 },
                fc
                  .constantFrom(1_001, 10_000)
                  .map((count) => Array.from({ length: count }, (_, n) => `bulk.p${n}.read`))
              )
            )
          },
          ["name", "permissions"]
        )
      ),
      call: (input) => RoleRepository.use((roles) => loose(roles.ensureWithPermissions)(input)),
      verify: ([input], result) =>
        Effect.gen(function* () {
          const { role, permissions } = result as {
            role: { id: string; name: string }
            permissions: ReadonlyArray<{ name: string }>
          }
          const wanted = field(input, "permissions") as ReadonlyArray<string>
          const missing = wanted.filter((name) => !permissions.some((permission) => permission.name === name))
          const roles = yield* RoleRepository
          return firstOf(
            differences([["name", role.name, field(input, "name")]]),
            missing.length === 0 ? undefined : `permissions not held: ${canonical(missing)}`,
            yield* readsBack("role", role, readRole(role.id)),
            yield* readsBack("permissions", permissions, roles.permissionsOf(role.id as never))
          )
        })
    },
    {
      name: "RoleRepository.findById",
      errors: [...errors, "RoleNotFound"],
      args: fc.tuple(roleId),
      call: (id) => RoleRepository.use((roles) => loose(roles.findById)(id))
    },
    {
      name: "RoleRepository.findByName",
      errors: [...errors, "RoleNotFound"],
      args: fc.tuple(roleName),
      call: (name) => RoleRepository.use((roles) => loose(roles.findByName)(name))
    },
    {
      name: "RoleRepository.list",
      errors,
      args: fc.tuple(
        fc.oneof(fc.constant(undefined), requestLike({ limit: limitLike, cursor: cursorLike(rows.cursors) }))
      ),
      call: (request) => RoleRepository.use((roles) => loose(roles.list)(request))
    },
    {
      name: "RoleRepository.stream",
      errors,
      args: fc.tuple(
        fc.oneof(fc.constant(undefined), requestLike({ limit: limitLike, cursor: cursorLike(rows.cursors) }))
      ),
      call: (request) => RoleRepository.use((roles) => collect(roles.stream, [request]))
    },
    {
      name: "RoleRepository.update",
      errors: [...errors, "RoleNotFound", "RoleNameTaken"],
      args: fc.tuple(roleId, requestLike({ name: roleName, description: orHostile(descriptionLike) })),
      call: (id, patch) => RoleRepository.use((roles) => loose(roles.update)(id, patch)),
      verify: ([, patch], role) =>
        Effect.gen(function* () {
          const stored = role as { id: string; name: string; description: string }
          const name = field(patch, "name")
          const description = field(patch, "description")
          return firstOf(
            differences([
              ...(name === undefined ? [] : [["name", stored.name, name] as const]),
              ...(description === undefined ? [] : [["description", stored.description, description] as const])
            ]),
            yield* readsBack("role", stored, readRole(stored.id))
          )
        })
    },
    {
      name: "RoleRepository.delete",
      errors: [...errors, "RoleNotFound"],
      args: fc.tuple(roleId),
      call: (id) => RoleRepository.use((roles) => loose(roles.delete)(id)),
      verify: ([id]) =>
        Effect.map(Effect.exit(readRole(String(id).toLowerCase())), (exit) =>
          exit._tag === "Success" ? "the role is still there" : undefined
        )
    },
    {
      name: "RoleRepository.grant",
      errors: [...errors, "RoleNotFound", "PermissionNotFound"],
      args: fc.tuple(roleId, permissionId),
      call: (role, permission) => RoleRepository.use((roles) => loose(roles.grant)(role, permission)),
      verify: ([role, permission]) =>
        Effect.gen(function* () {
          const { name } = yield* permissionNamed(permission)
          return (yield* holds(role, (held) => held === name)) ? undefined : "the permission is not granted"
        })
    },
    {
      name: "RoleRepository.grantByName",
      errors: [...errors, "RoleNotFound", "PermissionNotFound"],
      args: fc.tuple(roleName, permissionName),
      call: (role, permission) => RoleRepository.use((roles) => loose(roles.grantByName)(role, permission)),
      verify: ([role, permission]) =>
        Effect.gen(function* () {
          const { id } = yield* RoleRepository.use((roles) => roles.findByName(String(role)))
          return (yield* holds(id, (held) => held === permission)) ? undefined : "the permission is not granted"
        })
    },
    {
      name: "RoleRepository.revoke",
      errors: [...errors, "RoleNotFound", "PermissionNotFound"],
      args: fc.tuple(roleId, permissionId),
      call: (role, permission) => RoleRepository.use((roles) => loose(roles.revoke)(role, permission)),
      verify: ([role, permission]) =>
        Effect.gen(function* () {
          const { name } = yield* permissionNamed(permission)
          return (yield* holds(role, (held) => held === name)) ? "the permission is still granted" : undefined
        })
    },
    {
      name: "RoleRepository.permissionsOf",
      errors: [...errors, "RoleNotFound"],
      args: fc.tuple(roleId),
      call: (id) => RoleRepository.use((roles) => loose(roles.permissionsOf)(id))
    }
  ]
}

const permissionCases = (rows: HostileFixtureRows): ReadonlyArray<MethodCase> => {
  const permissionId = idLike(rows.permissionIds)
  const permissionName = orHostile(permissionNameLike(rows.permissionNames))
  const createPermission = inputLike({ name: permissionName, description: orHostile(descriptionLike) }, ["name"])
  const listRequest = fc.oneof(
    fc.constant(undefined),
    requestLike({
      limit: limitLike,
      cursor: cursorLike(rows.cursors),
      module: orHostile(fc.oneof(fc.constantFrom(...rows.modules), token))
    })
  )
  const readPermission = (id: string) => PermissionRepository.use((permissions) => permissions.findById(id as never))
  const errors = ["InvalidInput", "DatabaseUnavailable"]
  return [
    {
      name: "PermissionRepository.create",
      errors: [...errors, "PermissionNameTaken"],
      args: fc.tuple(createPermission),
      call: (input) => PermissionRepository.use((permissions) => loose(permissions.create)(input)),
      verify: namedRowVerify("permission", readPermission, true)
    },
    {
      name: "PermissionRepository.ensure",
      errors,
      args: fc.tuple(createPermission),
      call: (input) => PermissionRepository.use((permissions) => loose(permissions.ensure)(input)),
      verify: namedRowVerify("permission", readPermission, false)
    },
    {
      name: "PermissionRepository.findById",
      errors: [...errors, "PermissionNotFound"],
      args: fc.tuple(permissionId),
      call: (id) => PermissionRepository.use((permissions) => loose(permissions.findById)(id))
    },
    {
      name: "PermissionRepository.findByName",
      errors: [...errors, "PermissionNotFound"],
      args: fc.tuple(permissionName),
      call: (name) => PermissionRepository.use((permissions) => loose(permissions.findByName)(name))
    },
    {
      name: "PermissionRepository.list",
      errors,
      args: fc.tuple(listRequest),
      call: (request) => PermissionRepository.use((permissions) => loose(permissions.list)(request))
    },
    {
      name: "PermissionRepository.stream",
      errors,
      args: fc.tuple(listRequest),
      call: (request) => PermissionRepository.use((permissions) => collect(permissions.stream, [request]))
    },
    {
      name: "PermissionRepository.delete",
      errors: [...errors, "PermissionNotFound"],
      args: fc.tuple(permissionId),
      call: (id) => PermissionRepository.use((permissions) => loose(permissions.delete)(id)),
      verify: ([id]) =>
        Effect.map(Effect.exit(readPermission(String(id).toLowerCase())), (exit) =>
          exit._tag === "Success" ? "the permission is still there" : undefined
        )
    }
  ]
}

const auditCases = (rows: HostileFixtureRows): ReadonlyArray<MethodCase> => {
  const action = orHostile(
    fc.oneof(
      fc.constantFrom(...rows.actions),
      fc.tuple(token, token).map(([a, b]) => `${a}.${b}`)
    )
  )
  const targetId = orHostile(fc.oneof(fc.constantFrom("target-1", "target-2"), descriptionLike))
  const actorId = fc.oneof(fc.constant(null), idLike(rows.userIds))
  const entry = inputLike({ action, targetId, metadata: metadataLike, actorId }, ["action"])
  const filter = fc.oneof(
    fc.constant(undefined),
    requestLike({
      limit: limitLike,
      cursor: cursorLike(rows.cursors),
      actorId: idLike(rows.userIds),
      targetId,
      action,
      from: dateTimeLike,
      to: dateTimeLike
    })
  )
  const readLog = (id: string) => AuditLogRepository.use((audit) => audit.findById(id as never))
  const entryDifference = (given: unknown, log: unknown) => {
    const stored = log as {
      action: string
      targetId: Option.Option<string>
      actorId: Option.Option<string>
      metadata: unknown
    }
    const actor = field(given, "actorId")
    return firstOf(
      differences([
        ["action", stored.action, field(given, "action")],
        ["targetId", Option.getOrUndefined(stored.targetId), field(given, "targetId")],
        ["actorId", stored.actorId, typeof actor === "string" ? Option.some(actor.toLowerCase()) : Option.none()]
      ]),
      metadataDifference(field(given, "metadata"), stored.metadata)
    )
  }
  const errors = ["InvalidInput", "DatabaseUnavailable"]
  return [
    {
      name: "AuditLogRepository.append",
      errors,
      args: fc.tuple(entry),
      call: (input) => AuditLogRepository.use((audit) => loose(audit.append)(input)),
      verify: ([input], log) =>
        Effect.gen(function* () {
          return firstOf(
            entryDifference(input, log),
            yield* readsBack("audit record", log, readLog((log as { id: string }).id))
          )
        })
    },
    {
      name: "AuditLogRepository.appendMany",
      errors,
      args: fc.tuple(orHostile(fc.array(entry, { maxLength: 4 }))),
      call: (entries) => AuditLogRepository.use((audit) => loose(audit.appendMany)(entries)),
      verify: ([entries], logs) =>
        Effect.gen(function* () {
          const given = entries as ReadonlyArray<unknown>
          const stored = logs as ReadonlyArray<{ id: string }>
          if (given.length !== stored.length) return `${given.length} entries given, ${stored.length} stored`
          for (const [index, log] of stored.entries()) {
            const difference = firstOf(
              entryDifference(given[index], log),
              yield* readsBack("audit record", log, readLog(log.id))
            )
            if (difference !== undefined) return `entries[${index}]: ${difference}`
          }
          return undefined
        })
    },
    {
      name: "AuditLogRepository.findById",
      errors: [...errors, "AuditLogNotFound"],
      args: fc.tuple(idLike(rows.auditLogIds)),
      call: (id) => AuditLogRepository.use((audit) => loose(audit.findById)(id))
    },
    {
      name: "AuditLogRepository.list",
      errors,
      args: fc.tuple(filter),
      call: (request) => AuditLogRepository.use((audit) => loose(audit.list)(request))
    },
    {
      name: "AuditLogRepository.stream",
      errors,
      args: fc.tuple(filter),
      call: (request) => AuditLogRepository.use((audit) => collect(audit.stream, [request]))
    }
  ]
}

/** The public methods of the four repositories, as `Repository.method`. */
export const methodNames: ReadonlyArray<string> = [
  ...["create", "findById", "findByEmail", "list", "stream", "update", "delete", "assignRole", "assignRoleByName"],
  ...["removeRole", "rolesOf", "permissionsOf", "hasPermission", "findWithAccess"]
]
  .map((method) => `UserRepository.${method}`)
  .concat(
    [
      ...["create", "ensure", "ensureWithPermissions", "findById", "findByName", "list", "stream", "update", "delete"],
      ...["grant", "grantByName", "revoke", "permissionsOf"]
    ].map((method) => `RoleRepository.${method}`),
    ["create", "ensure", "findById", "findByName", "list", "stream", "delete"].map(
      (method) => `PermissionRepository.${method}`
    ),
    ["append", "appendMany", "findById", "list", "stream"].map((method) => `AuditLogRepository.${method}`)
  )

/** Every public method of the four repositories. */
export const methodCases = (rows: HostileFixtureRows): ReadonlyArray<MethodCase> => [
  ...userCases(rows),
  ...roleCases(rows),
  ...permissionCases(rows),
  ...auditCases(rows)
]
