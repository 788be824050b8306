import { randomUUID } from "node:crypto"
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { TestDatabaseLayer } from "../support/TestDatabase.ts"

interface ColumnRow {
  readonly table: string
  readonly column: string
  readonly type: string
  readonly nullable: boolean
}

const TABLES = ["audit_logs", "permission_version", "permissions", "role_permissions", "roles", "user_roles", "users"]

/** The tables whose every change raises and notifies `permission_version` (migration 0005), one trigger per event. */
const ACCESS_TABLES = ["permissions", "role_permissions", "roles", "user_roles"]
const VERSION_EVENTS = ["delete", "insert", "truncate", "update"]

const EXPECTED_COLUMNS: Record<string, ReadonlyArray<readonly [column: string, type: string, nullable: boolean]>> = {
  users: [
    ["id", "uuid", false],
    ["email", "citext", false],
    ["password_hash", "text", false],
    ["verified", "bool", false],
    ["created_at", "timestamptz", false],
    ["updated_at", "timestamptz", false]
  ],
  roles: [
    ["id", "uuid", false],
    ["name", "text", false],
    ["description", "text", false],
    ["created_at", "timestamptz", false]
  ],
  permissions: [
    ["id", "uuid", false],
    ["name", "text", false],
    ["description", "text", false],
    ["created_at", "timestamptz", false]
  ],
  user_roles: [
    ["user_id", "uuid", false],
    ["role_id", "uuid", false],
    ["created_at", "timestamptz", false]
  ],
  role_permissions: [
    ["role_id", "uuid", false],
    ["permission_id", "uuid", false],
    ["created_at", "timestamptz", false]
  ],
  permission_version: [
    ["id", "bool", false],
    ["version", "int8", false]
  ],
  audit_logs: [
    ["id", "uuid", false],
    ["actor_id", "uuid", true],
    ["action", "text", false],
    ["target_id", "text", true],
    ["metadata", "jsonb", false],
    ["timestamp", "timestamptz", false]
  ]
}

/** The SqlError of a statement that must fail: the reason's tag, the server's message and SQLSTATE. */
const rejected = <A, R>(effect: Effect.Effect<A, SqlError, R>) =>
  Effect.gen(function* () {
    const error = yield* Effect.flip(effect)
    const cause = error.reason.cause as { message?: string; code?: string; constraint?: string } | undefined
    return {
      tag: error.reason._tag,
      message: cause?.message ?? "",
      code: cause?.code ?? "",
      constraint: cause?.constraint ?? ""
    }
  })

const insertUser = (email: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const id = randomUUID()
    yield* sql`INSERT INTO users (id, email, password_hash) VALUES (${id}::uuid, ${email}, 'hash')`
    return id
  })

layer(TestDatabaseLayer(), { timeout: "60 seconds" })("database schema", (it) => {
  describe("catalog", () => {
    it.effect("has the seven tables, plus the migrations table; audit_logs is partitioned by time", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ readonly name: string }>`
          SELECT relname AS name FROM pg_class
          WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p') AND NOT relispartition
          ORDER BY relname`
        assert.deepStrictEqual(
          rows.map((row) => row.name),
          [...TABLES, "schema_migrations"].toSorted()
        )
        const partitions = yield* sql<{ readonly name: string; readonly bound: string }>`
          SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'audit_logs'::regclass ORDER BY c.relname`
        assert.deepStrictEqual(
          partitions.map((row) => row.name),
          ["audit_logs_default", "audit_logs_legacy"]
        )
        assert.strictEqual(partitions[0]!.bound, "DEFAULT")
        assert.match(partitions[1]!.bound, /^FOR VALUES FROM \(MINVALUE\) TO \('.+'\)$/)
        const [key] = yield* sql<{ readonly key: string }>`SELECT pg_get_partkeydef('audit_logs'::regclass) AS key`
        assert.strictEqual(key!.key, 'RANGE ("timestamp")')
      })
    )

    it.effect("every column has the expected type and nullability, in order", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<ColumnRow>`
          SELECT table_name AS table, column_name AS column, udt_name AS type, is_nullable = 'YES' AS nullable
          FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name IN ${sql.in(TABLES)}
          ORDER BY table_name, ordinal_position`
        for (const table of TABLES) {
          assert.deepStrictEqual(
            rows.filter((row) => row.table === table).map((row) => [row.column, row.type, row.nullable]),
            EXPECTED_COLUMNS[table]!.map((column) => [...column]),
            table
          )
        }
      })
    )

    it.effect("has the named unique, check and primary key constraints", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{
          readonly name: string
          readonly table: string
          readonly type: string
          readonly columns: string
        }>`
          SELECT c.conname AS name, t.relname AS table, c.contype AS type,
                 (SELECT string_agg(a.attname, ',' ORDER BY k.ord)
                  FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS columns
          FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
          WHERE t.relnamespace = current_schema()::regnamespace AND c.contype IN ('p', 'u', 'c')`
        const byName = new Map(rows.map((row) => [row.name, row]))
        const expected: ReadonlyArray<readonly [string, string, string, string]> = [
          ["users_email_key", "users", "u", "email"],
          ["roles_name_key", "roles", "u", "name"],
          ["permissions_name_key", "permissions", "u", "name"],
          ["permissions_name_format", "permissions", "c", "name"],
          ["roles_name_format", "roles", "c", "name"],
          ["users_email_length", "users", "c", "email"],
          ["users_pkey", "users", "p", "id"],
          ["roles_pkey", "roles", "p", "id"],
          ["permissions_pkey", "permissions", "p", "id"],
          // No key on the partitioned parent (it would have to include "timestamp"): one per partition.
          ["audit_logs_legacy_pkey", "audit_logs_legacy", "p", "id"],
          ["audit_logs_default_pkey", "audit_logs_default", "p", "id"],
          ["user_roles_pkey", "user_roles", "p", "user_id,role_id"],
          ["role_permissions_pkey", "role_permissions", "p", "role_id,permission_id"],
          ["permission_version_pkey", "permission_version", "p", "id"],
          ["permission_version_one_row", "permission_version", "c", "id"]
        ]
        for (const [name, table, type, columns] of expected) {
          const row = byName.get(name)
          assert.isDefined(row, `constraint ${name} is missing`)
          assert.deepStrictEqual([row!.table, row!.type, row!.columns], [table, type, columns], name)
        }
      })
    )

    it.effect("the link tables' foreign keys cascade on delete", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{
          readonly table: string
          readonly column: string
          readonly references: string
          readonly onDelete: string
        }>`
          SELECT t.relname AS table, a.attname AS column, r.relname AS references, c.confdeltype AS on_delete
          FROM pg_constraint c
          JOIN pg_class t ON t.oid = c.conrelid
          JOIN pg_class r ON r.oid = c.confrelid
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
          WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace
          ORDER BY t.relname, a.attname`
        assert.deepStrictEqual(
          rows.map((row) => ({ ...row })),
          [
            { table: "role_permissions", column: "permission_id", references: "permissions", onDelete: "c" },
            { table: "role_permissions", column: "role_id", references: "roles", onDelete: "c" },
            { table: "user_roles", column: "role_id", references: "roles", onDelete: "c" },
            { table: "user_roles", column: "user_id", references: "users", onDelete: "c" }
          ]
        )
      })
    )

    it.effect("has the secondary indexes, on the expected columns", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ readonly name: string; readonly definition: string }>`
          SELECT indexname AS name, indexdef AS definition FROM pg_indexes WHERE schemaname = current_schema()`
        const definitions = new Map(rows.map((row) => [row.name, row.definition]))
        const expected: Record<string, string> = {
          user_roles_role_id_idx: "ON public.user_roles USING btree (role_id)",
          role_permissions_permission_id_idx: "ON public.role_permissions USING btree (permission_id)",
          audit_logs_actor_idx: 'ON ONLY public.audit_logs USING btree (actor_id, "timestamp" DESC, id DESC)',
          audit_logs_target_idx: 'ON ONLY public.audit_logs USING btree (target_id, "timestamp" DESC, id DESC)',
          audit_logs_action_idx: 'ON ONLY public.audit_logs USING btree (action, "timestamp" DESC, id DESC)',
          audit_logs_timestamp_idx: 'ON ONLY public.audit_logs USING btree ("timestamp" DESC, id DESC)'
        }
        for (const [name, tail] of Object.entries(expected)) {
          const definition = definitions.get(name)
          assert.isDefined(definition, `index ${name} is missing`)
          assert.isTrue(definition!.endsWith(tail), `${name}: ${definition}`)
        }
        assert.deepStrictEqual(
          rows
            .filter((row) => row.definition.includes(" ON ONLY public.audit_logs "))
            .map((row) => row.name)
            .toSorted(),
          ["audit_logs_action_idx", "audit_logs_actor_idx", "audit_logs_target_idx", "audit_logs_timestamp_idx"]
        )
      })
    )

    it.effect("has the updated_at, append-only and audit time triggers", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ readonly name: string; readonly table: string; readonly definition: string }>`
          SELECT tg.tgname AS name, t.relname AS table, pg_get_triggerdef(tg.oid) AS definition
          FROM pg_trigger tg JOIN pg_class t ON t.oid = tg.tgrelid
          WHERE NOT tg.tgisinternal AND tg.tgparentid = 0 AND t.relnamespace = current_schema()::regnamespace
          ORDER BY tg.tgname`
        assert.deepStrictEqual(
          rows.map((row) => [row.name, row.table]),
          [
            // Row triggers of audit_logs are cloned onto each partition (tgparentid set, left out above); a
            // TRUNCATE trigger is not, so each partition has its own.
            ["audit_logs_default_no_truncate", "audit_logs_default"],
            ["audit_logs_legacy_no_truncate", "audit_logs_legacy"],
            ["audit_logs_no_truncate", "audit_logs"],
            ["audit_logs_no_update_delete", "audit_logs"],
            ["audit_logs_stamp_time", "audit_logs"],
            ["users_set_updated_at", "users"],
            ...ACCESS_TABLES.flatMap((table) =>
              VERSION_EVENTS.map((event) => [`${table}_version_${event}`, table] as [string, string])
            )
          ].toSorted(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0))
        )
        const definition = (name: string) => rows.find((row) => row.name === name)!.definition
        for (const table of ACCESS_TABLES) {
          for (const event of VERSION_EVENTS) {
            assert.include(
              definition(`${table}_version_${event}`),
              `AFTER ${event.toUpperCase()} ON public.${table}`,
              `${table} ${event}`
            )
            assert.include(
              definition(`${table}_version_${event}`),
              event === "truncate" ? "permission_version_bump()" : "permission_version_bump_if_changed()"
            )
          }
        }
        assert.include(definition("users_set_updated_at"), "BEFORE UPDATE ON public.users FOR EACH ROW")
        assert.include(definition("audit_logs_no_update_delete"), "BEFORE DELETE OR UPDATE ON public.audit_logs")
        assert.include(definition("audit_logs_no_truncate"), "BEFORE TRUNCATE ON public.audit_logs")
        assert.include(definition("audit_logs_stamp_time"), "BEFORE INSERT ON public.audit_logs FOR EACH ROW")
      })
    )
  })

  describe("behaviour", () => {
    it.effect("audit_logs is append-only: UPDATE, DELETE and TRUNCATE fail, the row stays", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const id = randomUUID()
        yield* sql`INSERT INTO audit_logs (id, action, metadata) VALUES (${id}::uuid, 'iam.user.created', '{"k": 1}'::jsonb)`
        const update = yield* rejected(sql`UPDATE audit_logs SET action = 'iam.user.deleted' WHERE id = ${id}::uuid`)
        assert.strictEqual(update.message, "audit_logs is append-only: UPDATE is not allowed")
        assert.strictEqual(update.code, "23001")
        const del = yield* rejected(sql`DELETE FROM audit_logs WHERE id = ${id}::uuid`)
        assert.strictEqual(del.message, "audit_logs is append-only: DELETE is not allowed")
        const truncate = yield* rejected(sql`TRUNCATE audit_logs`)
        assert.strictEqual(truncate.message, "audit_logs is append-only: TRUNCATE is not allowed")
        const rows = yield* sql<{
          readonly action: string
          readonly metadata: unknown
        }>`SELECT action, metadata FROM audit_logs WHERE id = ${id}::uuid`
        assert.deepStrictEqual(
          rows.map((row) => ({ ...row })),
          [{ action: "iam.user.created", metadata: { k: 1 } }]
        )
      })
    )

    it.effect(
      "audit_logs timestamps are the database's: one given is replaced, or refused when it names another partition",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          // 2001 routes to the legacy partition, which also holds now(): the trigger's time replaces it.
          const stamped = yield* sql.withTransaction(
            Effect.gen(function* () {
              const rows = yield* sql<{ readonly transactionTime: boolean }>`
                INSERT INTO audit_logs (id, action, "timestamp")
                VALUES (${randomUUID()}::uuid, 'iam.user.created', '2001-01-01T00:00:00Z')
                RETURNING "timestamp" = now() AS transaction_time`
              return rows.map((row) => row.transactionTime)
            })
          )
          assert.deepStrictEqual(stamped, [true])
          // 2999 routes to the default partition; PostgreSQL does not move a row in a BEFORE trigger, so the
          // insert fails whole and nothing is stored.
          const id = randomUUID()
          const refused = yield* rejected(
            sql`INSERT INTO audit_logs (id, action, "timestamp")
                VALUES (${id}::uuid, 'iam.user.created', '2999-01-01T00:00:00Z')`
          )
          assert.strictEqual(refused.code, "0A000")
          assert.include(refused.message, "moving row to another partition")
          const [count] = yield* sql<{
            readonly n: number
          }>`SELECT count(*)::int AS n FROM audit_logs WHERE id = ${id}::uuid`
          assert.strictEqual(count!.n, 0)
        })
    )

    it.effect("audit_logs metadata defaults to an empty object and must be an object", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const id = randomUUID()
        yield* sql`INSERT INTO audit_logs (id, action) VALUES (${id}::uuid, 'iam.role.created')`
        const [row] = yield* sql<{ readonly metadata: unknown }>`SELECT metadata FROM audit_logs WHERE id = ${id}::uuid`
        assert.deepStrictEqual(row!.metadata, {})
        const array = yield* rejected(
          sql`INSERT INTO audit_logs (id, action, metadata) VALUES (${randomUUID()}::uuid, 'iam.role.created', '[1]'::jsonb)`
        )
        assert.strictEqual(array.constraint, "audit_logs_metadata_object")
      })
    )

    it.effect("e-mail uniqueness ignores case", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const id = yield* insertUser("Ada.Lovelace@Example.com")
        const duplicate = yield* rejected(insertUser("ada.lovelace@EXAMPLE.COM"))
        assert.strictEqual(duplicate.tag, "UniqueViolation")
        assert.strictEqual(duplicate.constraint, "users_email_key")
        const found = yield* sql<{
          readonly id: string
          readonly email: string
        }>`SELECT id, email FROM users WHERE email = ${"ADA.LOVELACE@example.com"}`
        assert.deepStrictEqual(
          found.map((row) => ({ ...row })),
          [{ id, email: "Ada.Lovelace@Example.com" }]
        )
      })
    )

    it.effect("updated_at moves on update, created_at does not", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const id = yield* insertUser("grace@example.com")
        const read = sql<{
          readonly createdAt: Date
          readonly updatedAt: Date
          readonly verified: boolean
        }>`SELECT created_at, updated_at, verified FROM users WHERE id = ${id}::uuid`.pipe(
          Effect.map((rows) => rows[0]!)
        )
        const before = yield* read
        assert.strictEqual(before.verified, false)
        assert.strictEqual(before.updatedAt.getTime(), before.createdAt.getTime())
        yield* sql`UPDATE users SET verified = true WHERE id = ${id}::uuid`
        const after = yield* read
        assert.strictEqual(after.verified, true)
        assert.strictEqual(after.createdAt.getTime(), before.createdAt.getTime())
        assert.isAbove(after.updatedAt.getTime(), before.updatedAt.getTime())
      })
    )

    it.effect("permission names must be <domain>.<resource>.<action> in lower case", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`INSERT INTO permissions (id, name) VALUES (${randomUUID()}::uuid, 'iam.users.read')`
        for (const name of ["Users.read", "iam.users", "iam.Users.read", "iam.users.read.all"]) {
          const error = yield* rejected(sql`INSERT INTO permissions (id, name) VALUES (${randomUUID()}::uuid, ${name})`)
          assert.strictEqual(error.tag, "ConstraintError", name)
          assert.strictEqual(error.constraint, "permissions_name_format", name)
        }
        const duplicate = yield* rejected(
          sql`INSERT INTO permissions (id, name) VALUES (${randomUUID()}::uuid, 'iam.users.read')`
        )
        assert.strictEqual(duplicate.constraint, "permissions_name_key")
      })
    )

    it.effect("deleting a role or a user deletes its grants", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const userId = yield* insertUser("linus@example.com")
        const roleId = randomUUID()
        const permissionId = randomUUID()
        yield* sql`INSERT INTO roles (id, name) VALUES (${roleId}::uuid, 'cascade-test')`
        yield* sql`INSERT INTO permissions (id, name) VALUES (${permissionId}::uuid, 'iam.cascade.test')`
        yield* sql`INSERT INTO user_roles (user_id, role_id) VALUES (${userId}::uuid, ${roleId}::uuid)`
        yield* sql`INSERT INTO role_permissions (role_id, permission_id) VALUES (${roleId}::uuid, ${permissionId}::uuid)`
        const count = (table: string) =>
          sql<{
            readonly n: number
          }>`SELECT count(*)::int AS n FROM ${sql(table)} WHERE role_id = ${roleId}::uuid`.pipe(
            Effect.map((rows) => rows[0]!.n)
          )
        assert.deepStrictEqual([yield* count("user_roles"), yield* count("role_permissions")], [1, 1])
        yield* sql`DELETE FROM roles WHERE id = ${roleId}::uuid`
        assert.deepStrictEqual([yield* count("user_roles"), yield* count("role_permissions")], [0, 0])
        const [permission] = yield* sql<{
          readonly n: number
        }>`SELECT count(*)::int AS n FROM permissions WHERE id = ${permissionId}::uuid`
        assert.strictEqual(permission!.n, 1)
      })
    )
  })
})
