/**
 * A realistic volume of rows, written with a few set-based statements (INSERT ... SELECT generate_series), so
 * seeding 100,000 audit rows takes about a second. Ids, e-mails and permission names are functions of a
 * number, in JS and in SQL alike: pgbench, which can only draw random integers, derives the same values
 * from `\set` variables that the in-process clients compute in JS.
 */
import { createNotesTable, noteIdSql } from "./Entities.ts"
import type { Volume } from "./Settings.ts"

// Valid UUIDv7s (version 7, variant 8), time-ordered within a table like the library's own ids.
const uuidPrefix = {
  user: "01900000-0000-7000-8000-",
  role: "01900000-0000-7000-8001-",
  permission: "01900000-0000-7000-8002-"
}
const uuidOf = (prefix: string, n: number) => `${prefix}${n.toString(16).padStart(12, "0")}`
// The casts let pgbench pass its variables as untyped parameters (-M prepared).
const uuidSql = (prefix: string, n: string) => `('${prefix}' || lpad(to_hex((${n})::bigint), 12, '0'))::uuid`

/** User `n` (1-based). */
export const userIdOf = (n: number): string => uuidOf(uuidPrefix.user, n)
export const emailOf = (n: number): string => `user${n}@bench.test`
/** Permission `p` (0-based); role `r` grants permissions r * permissionsPerRole ... + permissionsPerRole - 1. */
export const permissionNameOf = (p: number): string => `bench.perm.p${p}`
export const permissionCount = (volume: Volume): number => volume.roles * volume.permissionsPerRole

/** The same values as SQL expressions of an integer expression (for the seed and the pgbench scripts). */
export const userIdSql = (n: string): string => uuidSql(uuidPrefix.user, n)
export const emailSql = (n: string): string => `('user' || (${n})::bigint || '@bench.test')::citext`
export const permissionNameSql = (p: string): string => `('bench.perm.p' || (${p})::bigint)`

/** User `n` holds roles n % roles and (n + 1) % roles. */
export const rolesOfUser = (volume: Volume, n: number): readonly [number, number] => [
  n % volume.roles,
  (n + 1) % volume.roles
]

/** The statements that fill a freshly migrated database, in order, then refresh the planner's statistics. */
export const seedStatements = (volume: Volume): ReadonlyArray<string> => {
  const { users, roles, permissionsPerRole, auditRows } = volume
  const permissions = permissionCount(volume)
  return [
    `INSERT INTO users (id, email, password_hash, verified, created_at, updated_at)
      SELECT ${userIdSql("n")}, ${emailSql("n")},
        '$argon2id$v=19$m=65536,t=3,p=4$' || md5(n::text) || '$' || md5((n * 7)::text),
        n % 3 <> 0, now() - n * interval '1 minute', now() - n * interval '30 seconds'
      FROM generate_series(1, ${users}) AS n`,
    `INSERT INTO roles (id, name, description)
      SELECT ${uuidSql(uuidPrefix.role, "r")}, 'bench_role_' || r, 'Benchmark role ' || r
      FROM generate_series(0, ${roles - 1}) AS r`,
    `INSERT INTO permissions (id, name, description)
      SELECT ${uuidSql(uuidPrefix.permission, "p")}, ${permissionNameSql("p")}, 'Benchmark permission ' || p
      FROM generate_series(0, ${permissions - 1}) AS p`,
    `INSERT INTO role_permissions (role_id, permission_id)
      SELECT ${uuidSql(uuidPrefix.role, `p / ${permissionsPerRole}`)}, ${uuidSql(uuidPrefix.permission, "p")}
      FROM generate_series(0, ${permissions - 1}) AS p`,
    `INSERT INTO user_roles (user_id, role_id)
      SELECT ${userIdSql("n")}, ${uuidSql(uuidPrefix.role, `n % ${roles}`)} FROM generate_series(1, ${users}) AS n
      UNION ALL
      SELECT ${userIdSql("n")}, ${uuidSql(uuidPrefix.role, `(n + 1) % ${roles}`)} FROM generate_series(1, ${users}) AS n`,
    // Newest first is row 1; one row every 20 seconds back in time, so rows appended later sort before
    // every seeded one. One row in 20 has no actor (the system); targets repeat, as documents do.
    `INSERT INTO audit_logs (id, actor_id, action, target_id, metadata, "timestamp")
      SELECT gen_random_uuid(),
        CASE WHEN n % 20 = 0 THEN NULL ELSE ${userIdSql(`1 + n % ${users}`)} END,
        (ARRAY['user.created', 'user.role_assigned', 'role.permission_granted', 'session.login',
               'document.read', 'document.updated', 'invoice.paid', 'settings.changed'])[1 + n % 8],
        'doc-' || (n % 5000),
        jsonb_build_object('n', n, 'ip', '10.0.' || (n % 250) || '.' || (n % 199), 'agent', 'bench/1.0'),
        now() - interval '1 minute' - n * interval '20 seconds'
      FROM generate_series(1, ${auditRows}) AS n`,
    // One note per user. The library's contender also makes the table when it starts; the seed makes it too, so
    // that a seed without the library (test/Database/Plans.test.ts) stands on its own.
    createNotesTable,
    `INSERT INTO bench_notes (id, user_id, title, created_at)
      SELECT ${noteIdSql("n")}, ${userIdSql("n")}, 'note ' || n, now() - n * interval '1 minute'
      FROM generate_series(1, ${users}) AS n`,
    "ANALYZE"
  ]
}
