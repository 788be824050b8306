import { assert, describe } from "@effect/vitest"
import { Effect, Option, Stream } from "effect"
import { AuditLogRepository } from "../../src/Database/Repositories/AuditLogRepository.ts"
import { PermissionRepository } from "../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../src/Database/Repositories/RoleRepository.ts"
import { UserRepository } from "../../src/Database/Repositories/UserRepository.ts"
import { expectInvalid } from "../support/Expect.ts"
import { allPages, type ContractIt, countSpans, newUser, unique } from "./Fixtures.ts"

const collect = <A, E, R>(stream: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(stream), (all) => [...all])

/** The ids `stream` yields, and how many pages (`span` calls) it asked for. */
const streamed = <A extends { readonly id: string }, E, R>(span: string, stream: Stream.Stream<A, E, R>) =>
  Effect.map(countSpans(span, collect(stream)), ([rows, pages]) => [rows.map((row) => row.id), pages] as const)

const assertOnce = (ids: ReadonlyArray<string>) => assert.strictEqual(new Set(ids).size, ids.length, "no row twice")

export const streamContract = (it: ContractIt) =>
  describe("stream", () => {
    it.effect("users: every user exactly once, in list order, one page query per page, then stops", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const mine = yield* Effect.forEach([1, 2, 3, 4, 5], () => newUser("streamed"))
        const pages = yield* allPages((cursor) => users.list({ limit: 2, cursor }))
        const [ids, queries] = yield* streamed("UserRepository.list", users.stream({ limit: 2 }))
        assert.isAbove(pages.length, 2)
        assert.deepStrictEqual(
          ids,
          pages.flat().map((user) => user.id)
        )
        assert.strictEqual(queries, pages.length, "one query per page, none after the last")
        assertOnce(ids)
        assert.deepStrictEqual(
          ids.filter((id) => mine.some((user) => user.id === id)),
          mine.map((user) => user.id)
        )
        // From a cursor on: the rows after it.
        const firstPage = yield* users.list({ limit: 2 })
        const cursor = Option.getOrUndefined(firstPage.nextCursor)
        const [rest] = yield* streamed("UserRepository.list", users.stream({ limit: 2, cursor }))
        assert.deepStrictEqual(rest, ids.slice(firstPage.items.length))
      })
    )

    it.effect("is lazy: taking three rows of pages of two asks for two pages", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        yield* Effect.forEach([1, 2, 3, 4, 5], () => newUser("lazy"))
        const [taken, queries] = yield* countSpans(
          "UserRepository.list",
          collect(users.stream({ limit: 2 }).pipe(Stream.take(3)))
        )
        assert.strictEqual(taken.length, 3)
        assert.strictEqual(queries, 2)
      })
    )

    it.effect("roles and permissions: by name, exactly once; audit records: newest first, filtered", () =>
      Effect.gen(function* () {
        const roles = yield* RoleRepository
        const permissions = yield* PermissionRepository
        const audit = yield* AuditLogRepository
        const prefix = `streamed-${unique()}`
        const mine = yield* Effect.forEach(["e", "a", "d", "b", "c"], (letter) =>
          roles.create({ name: `${prefix}-${letter}` })
        )
        const roleNames = (yield* collect(roles.stream({ limit: 2 }))).map((role) => role.name)
        assertOnce(roleNames)
        assert.deepStrictEqual(
          roleNames.filter((name) => name.startsWith(prefix)),
          mine.map((role) => role.name).sort()
        )

        const module = `m${unique()}`
        const granted = yield* Effect.forEach(["e", "a", "d", "b", "c"], (resource) =>
          permissions.create({ name: `${module}.${resource}.read` })
        )
        const [permissionIds, permissionQueries] = yield* streamed(
          "PermissionRepository.list",
          permissions.stream({ module, limit: 2 })
        )
        assert.deepStrictEqual(
          permissionIds,
          granted.toSorted((left, right) => (left.name < right.name ? -1 : 1)).map((permission) => permission.id)
        )
        assert.strictEqual(permissionQueries, 3)

        const targetId = unique()
        const appended = yield* audit.appendMany(
          [1, 2, 3, 4, 5, 6, 7].map((n) => ({ action: "test.streamed", targetId, metadata: { n } }))
        )
        const [logIds, logQueries] = yield* streamed("AuditLogRepository.list", audit.stream({ targetId, limit: 3 }))
        assert.deepStrictEqual(logIds, appended.map((log) => log.id).reverse())
        assert.strictEqual(logQueries, 3)
      })
    )

    it.effect("fails with InvalidInput for a bad request, like list", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const audit = yield* AuditLogRepository
        yield* expectInvalid(collect(users.stream({ cursor: "garbage" })), "cursor")
        yield* expectInvalid(collect(users.stream({ limit: 0 })), "limit")
        yield* expectInvalid(collect(audit.stream({ action: "Bad Action" })), "action")
      })
    )
  })
