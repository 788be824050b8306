import { randomBytes } from "node:crypto"
import type { Vitest } from "@effect/vitest"
import { Effect, Option, Redacted, Tracer } from "effect"
import { AuditLogRepository, type ListAuditLogs } from "../../src/Database/Repositories/AuditLogRepository.ts"
import { PermissionRepository } from "../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../src/Database/Repositories/RoleRepository.ts"
import type { Transactions } from "../../src/Database/Repositories/Transactions.ts"
import { UserRepository } from "../../src/Database/Repositories/UserRepository.ts"
import type { AuditLog, Page } from "../../src/Domain/index.ts"

/** Everything the contract exercises; a layer under test provides (at least) these. */
export type ContractServices =
  | UserRepository
  | RoleRepository
  | PermissionRepository
  | AuditLogRepository
  | Transactions

export type ContractIt = Vitest.MethodsNonLive<ContractServices>

// The layer is shared by every test of a block, so each test makes names of its own.
const token = (): string => randomBytes(5).toString("hex")

/** A fresh lower-case token starting with a letter: valid inside e-mails, role names and permission segments. */
export const unique = (): string => `t${token()}`

export const uniqueEmail = (label = "user"): string => `${label}.${unique()}@example.io`

export const uniqueRoleName = (label = "role"): string => `${label}-${unique()}`

/** A permission name in a module of its own (or the given one). */
export const uniquePermissionName = (module = `m${token()}`, action = "read"): string =>
  `${module}.${unique()}.${action}`

/** A stand-in for a hash made by the caller's hasher; the text is recognisable to look for leaks. */
export const makeHash = (): Redacted.Redacted<string> =>
  Redacted.make(`$argon2id$v=19$m=65536,t=3,p=4$SECRETSALT${token()}$SECRETHASH${token()}`)

export const newUser = (label?: string) =>
  UserRepository.use((users) => users.create({ email: uniqueEmail(label), passwordHash: makeHash() }))

export const newRole = (label?: string) => RoleRepository.use((roles) => roles.create({ name: uniqueRoleName(label) }))

export const newPermission = (module?: string, action?: string) =>
  PermissionRepository.use((permissions) => permissions.create({ name: uniquePermissionName(module, action) }))

/** A user holding a permission through a role, all new. */
export const grantedUser = Effect.gen(function* () {
  const users = yield* UserRepository
  const roles = yield* RoleRepository
  const user = yield* newUser()
  const role = yield* newRole()
  const permission = yield* newPermission()
  yield* roles.grant(role.id, permission.id)
  yield* users.assignRole(user.id, role.id)
  return { user, role, permission }
})

/** Follows `nextCursor` to the end and returns every page. */
export const allPages = <A, E, R>(
  fetch: (cursor: string | undefined) => Effect.Effect<Page<A>, E, R>
): Effect.Effect<ReadonlyArray<ReadonlyArray<A>>, E, R> =>
  Effect.gen(function* () {
    const pages: Array<ReadonlyArray<A>> = []
    let cursor: string | undefined
    do {
      const page = yield* fetch(cursor)
      pages.push(page.items)
      cursor = Option.getOrUndefined(page.nextCursor)
    } while (cursor !== undefined)
    return pages
  })

/** Every audit record matching `filter`, newest first. */
export const auditLogs = (filter: Omit<ListAuditLogs, "cursor" | "limit"> = {}) =>
  Effect.gen(function* () {
    const audit = yield* AuditLogRepository
    const pages = yield* allPages((cursor) => audit.list({ ...filter, limit: 500, cursor }))
    return pages.flat()
  })

export const auditActionsFor = (targetId: string) =>
  Effect.map(auditLogs({ targetId }), (logs) => logs.map((log: AuditLog) => log.action))

/** Runs `effect` and counts the spans named `name` it opened (each repository call opens one, on any backend). */
export const countSpans = <A, E, R>(
  name: string,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<readonly [A, number], E, R> =>
  Effect.gen(function* () {
    let count = 0
    const tracer = Tracer.make({
      span(options) {
        if (options.name === name) count++
        return new Tracer.NativeSpan(options)
      }
    })
    const result = yield* Effect.withTracer(effect, tracer)
    return [result, count] as const
  })
