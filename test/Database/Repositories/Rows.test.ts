import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { UserWithAccessRow, UserWithAccessRowSchema } from "../../../src/Database/Postgres/AccessRows.ts"
import {
  AuditLogRow,
  auditLogFromRow,
  PermissionRow,
  permissionFromRow,
  RoleRow,
  roleFromRow,
  UserRow,
  userFromRow,
  userWithAccessFromRow
} from "../../../src/Database/Postgres/Rows.ts"
import { AuditLog, AuditMetadataMaxBytes, Permission, Role, User } from "../../../src/Domain/index.ts"
import { RepositoriesTestLayer } from "../../support/RepositoriesTestLayer.ts"

// The trusted decoders of Rows.ts against the Models' schemas, on rows PostgreSQL returns, written here with raw
// SQL so that they include what the repositories never write: a row the trusted decoder accepts must decode to
// the very value the schema gives, and one it refuses (a rule the database does not enforce) goes to the schema.

type Row = Record<string, unknown>

const uuid = (n: number) => `0190c3a0-0000-7000-8000-${n.toString(16).padStart(12, "0")}`

const nested = (depth: number): Record<string, unknown> => {
  let value: Record<string, unknown> = {}
  for (let level = 1; level < depth; level++) value = { a: value }
  return value
}

/**
 * For each row: the schema's exit, and the trusted decoder's value when it accepts the row. `accepted` lists
 * the rows the trusted decoder must accept (the valid ones, so the fast path is really taken).
 */
const compare = <A>(
  rows: ReadonlyArray<Row>,
  Model: Schema.Decoder<A>,
  fromRow: (row: Row) => A | undefined,
  Trusted: Schema.Decoder<A>,
  accepted: (row: Row) => boolean
) =>
  Effect.gen(function* () {
    assert.isAbove(rows.length, 0)
    for (const row of rows) {
      const expected = yield* Effect.exit(Schema.decodeUnknownEffect(Model)(row))
      const fast = fromRow(row)
      const label = JSON.stringify(row, (_, value) =>
        typeof value === "string" && value.length > 40 ? `${value.slice(0, 40)}…` : value
      )
      if (fast !== undefined) {
        assert.isTrue(Exit.isSuccess(expected), `trusted decoder accepted a row the schema rejects: ${label}`)
        if (Exit.isSuccess(expected)) assert.deepStrictEqual(fast, expected.value, label)
      }
      assert.strictEqual(fast !== undefined, accepted(row), `accepted: ${label}`)
      // The schema made of both (trusted, falling back to the Model) gives the Model's result on every row.
      const trusted = yield* Effect.exit(Schema.decodeUnknownEffect(Trusted)(row))
      assert.strictEqual(Exit.isSuccess(trusted), Exit.isSuccess(expected), label)
      if (Exit.isSuccess(trusted) && Exit.isSuccess(expected)) assert.deepStrictEqual(trusted.value, expected.value)
    }
  })

layer(RepositoriesTestLayer(), { excludeTestServices: true, timeout: "60 seconds" })("trusted row decoders", (it) => {
  it.effect("users: equal to the schema's User, and refused where the database does not enforce the rule", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const long = "h".repeat(1025)
      yield* sql`INSERT INTO users (id, email, password_hash, verified, created_at, updated_at) VALUES
        (${uuid(1)}, 'ann@example.com', '$argon2id$v=19$hash', true, '2024-01-02 03:04:05.678901+00', '2024-01-02 03:04:05.678901+00'),
        (${uuid(2)}, 'bob.o''neil+x@sub.example.io', 'h', false, '1970-01-01 00:00:00+00', '2263-05-06 07:08:09.999999+00'),
        (${uuid(3)}, 'Carl@Example.COM', 'h', false, now(), now()),
        (${uuid(4)}, ' dee@example.com', 'h', false, now(), now()),
        (${uuid(5)}, 'not-an-address', 'h', false, now(), now()),
        (${uuid(6)}, 'eve@example.com', '   ', false, now(), now()),
        (${uuid(7)}, 'fay@example.com', ${long}, false, now(), now()),
        (${uuid(8)}, 'gus@example.com', 'h', false, 'infinity', now()),
        (${uuid(9)}, 'hal@example.com', 'h', false, now(), '-infinity'),
        (${uuid(10)}, 'ida@example.com', ${"h".repeat(1024)}, false, '1900-02-28 23:59:59.5-05', now())`
      const rows =
        yield* sql<Row>`SELECT id, email, password_hash, verified, created_at, updated_at FROM users ORDER BY id`
      const valid = new Set([uuid(1), uuid(2), uuid(10)])
      yield* compare(rows, User, userFromRow, UserRow, (row) => valid.has(row.id as string))
    })
  )

  it.effect("roles and permissions: equal to the schema's, descriptions and name lengths checked", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`INSERT INTO roles (id, name, description) VALUES
        (${uuid(21)}, 'admin', ''),
        (${uuid(22)}, 'a', ${"d".repeat(1000)}),
        (${uuid(23)}, 'too-long-description', ${"d".repeat(1001)}),
        (${uuid(24)}, 'unicode', 'Ünïcødé 😀 \t\n')`
      const roles = yield* sql<Row>`SELECT id, name, description, created_at FROM roles ORDER BY id`
      yield* compare(roles, Role, roleFromRow, RoleRow, (row) => row.id !== uuid(23))

      const longName = `m.${"r".repeat(187)}.a`
      yield* sql`INSERT INTO permissions (id, name, description) VALUES
        (${uuid(31)}, 'iam.users.read', 'read users'),
        (${uuid(32)}, ${longName}, ''),
        (${uuid(33)}, ${`${longName}b`}, ''),
        (${uuid(34)}, 'iam.users.write', ${"d".repeat(1001)})`
      assert.strictEqual(longName.length, 191)
      const permissions = yield* sql<Row>`SELECT id, name, description, created_at FROM permissions ORDER BY id`
      const valid = new Set([uuid(31), uuid(32)])
      yield* compare(permissions, Permission, permissionFromRow, PermissionRow, (row) => valid.has(row.id as string))
    })
  )

  it.effect("audit logs: options, metadata depth, size and numbers, as the schema decides", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const json = (value: unknown) => JSON.stringify(value)
      const padding = (bytes: number) => ({ p: "x".repeat(bytes - 8) }) // {"p":"…"} is 8 bytes plus the text
      const cases: ReadonlyArray<readonly [number, string | null, string | null, string, boolean]> = [
        [41, null, null, json({}), true],
        [42, uuid(1), "target", json({ a: 1, b: [true, null, "x"], c: { d: -0.5e-7 } }), true],
        [43, null, "  ", json({}), false],
        [44, null, "t".repeat(256), json({}), true],
        [45, null, "t".repeat(257), json({}), false],
        [46, null, null, json(nested(32)), true],
        [47, null, null, json(nested(33)), false],
        [48, null, null, '{"big": 1e400}', false],
        [49, null, null, json(padding(AuditMetadataMaxBytes)), true],
        [50, null, null, json(padding(AuditMetadataMaxBytes + 1)), false],
        [51, null, null, json({ u: "é".repeat(AuditMetadataMaxBytes / 2 - 4) }), true],
        [52, null, null, json({ u: "é".repeat(AuditMetadataMaxBytes / 2 - 3) }), false],
        [53, null, null, '{"__proto__": {"x": 1}, "q": "\\"\\\\\\u0001"}', true],
        [54, null, "ünïcødé 😀", json({ "k e y": ["😀", 1.5, false] }), true]
      ]
      for (const [n, actorId, targetId, metadata] of cases)
        yield* sql`INSERT INTO audit_logs (id, actor_id, action, target_id, metadata)
          VALUES (${uuid(n)}, ${actorId}, 'test.rows', ${targetId}, ${metadata}::jsonb)`
      const rows = yield* sql<Row>`SELECT id, actor_id, action, target_id, metadata, "timestamp" FROM audit_logs
        WHERE action = 'test.rows' ORDER BY id`
      assert.strictEqual(rows.length, cases.length)
      const valid = new Set(cases.filter(([, , , , ok]) => ok).map(([n]) => uuid(n)))
      yield* compare(rows, AuditLog, auditLogFromRow, AuditLogRow, (row) => valid.has(row.id as string))
    })
  )

  it.effect("findWithAccess rows: the json of roles and permissions decodes to the schema's UserWithAccess", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`INSERT INTO users (id, email, password_hash) VALUES
        (${uuid(61)}, 'access@example.com', 'h'), (${uuid(62)}, 'none@example.com', 'h'),
        (${uuid(63)}, 'Upper@Example.com', 'h')`
      yield* sql`INSERT INTO roles (id, name, description) VALUES (${uuid(64)}, 'reader', 'r'), (${uuid(65)}, 'empty', '')`
      yield* sql`INSERT INTO permissions (id, name, description) VALUES
        (${uuid(66)}, 'doc.pages.read', ''), (${uuid(67)}, 'doc.pages.list', 'ünï')`
      yield* sql`INSERT INTO user_roles (user_id, role_id) VALUES
        (${uuid(61)}, ${uuid(64)}), (${uuid(61)}, ${uuid(65)}), (${uuid(63)}, ${uuid(64)})`
      yield* sql`INSERT INTO role_permissions (role_id, permission_id) VALUES (${uuid(64)}, ${uuid(66)}), (${uuid(64)}, ${uuid(67)})`
      // The statement of UserStorePg.findWithAccess, with the rows reshaped as it does.
      const rows = yield* sql<Row>`SELECT u.id, u.email, u.password_hash, u.verified, u.created_at, u.updated_at,
        COALESCE((
          SELECT json_agg(json_build_object(
            'role', json_build_object('id', r.id, 'name', r.name, 'description', r.description, 'createdAt', r.created_at),
            'permissions', COALESCE((
              SELECT json_agg(json_build_object(
                'id', p.id, 'name', p.name, 'description', p.description, 'createdAt', p.created_at
              ) ORDER BY p.name)
              FROM role_permissions rp JOIN permissions p ON p.id = rp.permission_id
              WHERE rp.role_id = r.id
            ), '[]'::json)
          ) ORDER BY r.name)
          FROM user_roles ur JOIN roles r ON r.id = ur.role_id
          WHERE ur.user_id = u.id
        ), '[]'::json) AS roles
      FROM users u WHERE u.id IN (${uuid(61)}, ${uuid(62)}, ${uuid(63)}) ORDER BY u.id`
      const shaped = rows.map(({ roles, ...user }) => ({ user, roles }))
      assert.strictEqual(shaped.length, 3)
      yield* compare(
        shaped,
        UserWithAccessRowSchema,
        userWithAccessFromRow,
        UserWithAccessRow,
        (row) => (row.user as Row).id !== uuid(63)
      )
    })
  )
})
