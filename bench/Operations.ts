/**
 * The operations of issue 11's table. Each one is the library's public call, the statement the library
 * sends for it (copied from src/Database/Postgres/*, see each comment; `SqlSync.ts` checks at every run
 * that the library still sends exactly this), the parameters for the i-th call, and a pgbench script that
 * runs the same statement.
 *
 * pgbench can bind only integers drawn with `\set` (and fixed `-D` strings), so its scripts derive the ids,
 * e-mails and permission names in SQL from those integers (see Seed.ts) and let the server draw a new
 * audit row's id (gen_random_uuid()); otherwise the statements are the same.
 */
import { randomUUID } from "node:crypto"
import { type Effect, Redacted } from "effect"
import { branchLimitOf } from "../src/Database/Postgres/AuditLogStorePg.ts"
import { type AuditPageLayout, branchConditions } from "../src/Database/Postgres/AuditPageLayout.ts"
import type { AuditLogRepository, Entity, UserId, UserRepository } from "../src/index.ts"
import { type Notes, noteIdOf, noteIdSql } from "./Entities.ts"
import {
  emailOf,
  emailSql,
  permissionCount,
  permissionNameOf,
  permissionNameSql,
  rolesOfUser,
  userIdOf,
  userIdSql
} from "./Seed.ts"
import type { Volume } from "./Settings.ts"

/** The library's repositories, as a service gets them from `PlatformKernel.layerWith`. */
export interface LibraryApi {
  readonly users: UserRepository["Service"]
  /** The same, without the permission cache (`RepositoryLayers.layer` on the same pool). */
  readonly usersUncached: UserRepository["Service"]
  readonly audit: AuditLogRepository["Service"]
  /** A service's own entity, declared with the kit (bench/Entities.ts). */
  readonly notes: Entity.EntityRepository<Notes>
}

export interface Statement {
  readonly sql: string
  readonly params: ReadonlyArray<unknown>
}

/** The statements of the i-th call of `operation`, as the drivers run them. */
export const statementsOf = (operation: Operation, i: number): ReadonlyArray<Statement> =>
  operation.transaction?.(i) ?? [{ sql: operation.sql, params: operation.params(i) }]

export interface PgbenchScript {
  readonly script: string
  /** `-D name=value` variables. */
  readonly defines?: Readonly<Record<string, string>>
}

export interface Operation {
  readonly name: string
  readonly callers: ReadonlyArray<number>
  /** Shown next to the name in the tables. */
  readonly note?: string
  readonly library: (api: LibraryApi, i: number) => Effect.Effect<unknown, unknown>
  /**
   * The call whose statement `SqlSync.ts` records, when `library` may send none (a cache hit); it must send
   * `sql`. Default: `library`.
   */
  readonly librarySql?: (api: LibraryApi, i: number) => Effect.Effect<unknown, unknown>
  /** The library's statement for one call, with `$n` placeholders. */
  readonly sql: string
  readonly params: (i: number) => ReadonlyArray<unknown>
  /**
   * Parameters that the library generates itself (new row ids), left out of the sync check; `statement` is the
   * statement's index in `transaction` (0 otherwise).
   */
  readonly generated?: (index: number, statement: number) => boolean
  /**
   * When one call of the library is a transaction of several statements (users create: the row, then its audit
   * record), the statements of the i-th call with their parameters, which the other clients run between BEGIN
   * and COMMIT (the pgbench script says BEGIN and COMMIT itself). `sql` and `params` are then the first's.
   */
  readonly transaction?: (i: number) => ReadonlyArray<Statement>
  readonly pgbench: PgbenchScript
  /** The same rows through COPY ... FROM STDIN (appendMany only), as tab-separated lines. */
  readonly copy?: { readonly statement: string; readonly rows: (i: number) => string }
}

/** Where the deep list page starts: the key of row `deepPageOffset` of the seeded audit trail. */
export interface DeepPage {
  readonly cursor: string
  readonly afterMicros: string
  readonly afterId: string
  /** The audit partitions' bounds, as the library reads them (undefined: the table is not partitioned). */
  readonly layout: AuditPageLayout | undefined
}

export const AppendManyRows = 1_000

// A cheap integer hash, so the i-th call of every contender reads the same spread of rows.
const mix = (i: number, salt: number): number => {
  let x = Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(salt, 0x85ebca6b)
  x ^= x >>> 16
  x = Math.imul(x, 0x7feb352d)
  x ^= x >>> 15
  x = Math.imul(x, 0x846ca68b)
  x ^= x >>> 16
  return x >>> 0
}

const userColumns = "id, email, password_hash, verified, created_at, updated_at"
const auditColumns = `id, actor_id, action, target_id, metadata, "timestamp"`

// src/Database/Postgres/AuditLogStorePg.ts, `list` (no filter: `sql.and([])` renders as 1=1): over partitions,
// two branches bounded by the partitions' bounds (constants, see AuditPageLayout.ts), each limited to the page's
// size rounded up to a power of two; on a table without partitions, one ordered scan.
const pageColumns = `${auditColumns}, (extract(epoch FROM "timestamp") * 1000000)::bigint::text AS timestamp_us`
const auditListSql = (
  layout: AuditPageLayout | undefined,
  cursor: { readonly micros: string; readonly where: (micros: string, id: string) => string } | undefined,
  parameter: (n: number) => string
) => {
  if (layout === undefined) {
    const where =
      cursor === undefined
        ? "1=1"
        : `(${cursor.where(parameter(1), parameter(2))} AND "timestamp" <= ('epoch'::timestamp + ${parameter(3)}::bigint * interval '1 microsecond') AT TIME ZONE 'UTC')`
    return `SELECT ${pageColumns} FROM audit_logs WHERE ${where}
      ORDER BY "timestamp" DESC, id DESC LIMIT ${parameter(cursor === undefined ? 1 : 4)}`
  }
  const { rest, run } = branchConditions(layout, {
    cursor: cursor === undefined ? undefined : Number(cursor.micros),
    from: undefined,
    to: undefined
  })
  const branch = (bounds: string, first: number) =>
    `(SELECT ${pageColumns} FROM audit_logs WHERE ${cursor === undefined ? bounds : `(${bounds} AND ${cursor.where(parameter(first), parameter(first + 1))})`}
      ORDER BY "timestamp" DESC, id DESC LIMIT ${branchLimitOf(PageFetch)})`
  return `SELECT * FROM (${branch(run, 1)} UNION ALL ${branch(rest, 3)}) AS page
    ORDER BY "timestamp" DESC, id DESC LIMIT ${parameter(cursor === undefined ? 1 : 5)}`
}
const deepWhere = (micros: string, id: string) =>
  `("timestamp", id) < ((SELECT ('epoch'::timestamp + ${micros}::bigint * interval '1 microsecond') AT TIME ZONE 'UTC'), ${id}::uuid)`

// src/Database/Postgres/AuditLogStorePg.ts, `insertAll`: five arrays whatever the row count (an append at
// 32 callers is one such statement per turn of the group commit; each pgbench call is one of one row).
const auditInsertSql = (ids: string, actorIds: string, actions: string, targetIds: string, metadata: string) =>
  `INSERT INTO audit_logs (id, actor_id, action, target_id, metadata)
        SELECT * FROM unnest(${ids}::uuid[], ${actorIds}::uuid[], ${actions}::text[], ${targetIds}::text[], ${metadata}::jsonb[])
        RETURNING ${auditColumns}`
const auditInsertParametersSql = auditInsertSql("$1", "$2", "$3", "$4", "$5")

// src/Database/Postgres/UserStorePg.ts: a lone call's statement (`executeOne`: scalar parameters, so planned
// once); concurrent calls of one kind are batched into one statement over arrays of keys, which pgbench and the
// drivers cannot do (that is the point of the 32-caller rows).
const findUserSql = (id: string) => `SELECT 1 AS ord, ${userColumns} FROM users WHERE id = ${id}`
// src/Database/Entity/EntityStorePg.ts: the same batching, the columns selected under their field names.
const noteColumns = `id AS "id", user_id AS "userId", title AS "title", created_at AS "createdAt"`
const findNoteSql = (id: string) => `SELECT 1 AS ord, ${noteColumns} FROM bench_notes WHERE id = ${id}`
const insertNoteSql = (id: string, userId: string, title: string, createdAt: string) =>
  `INSERT INTO bench_notes ("id","user_id","title","created_at") VALUES (${id},${userId},${title},${createdAt}) RETURNING ${noteColumns}`
// src/Database/Postgres/TablePg.ts, `insert`, then the audit record in the same transaction (AuditTrail.ts).
const insertUserSql = (id: string, email: string, passwordHash: string, verified: string) =>
  `INSERT INTO users ("id","email","password_hash","verified") VALUES (${id},${email},${passwordHash},${verified}) RETURNING ${userColumns}`
const newPasswordHash = "$argon2id$v=19$m=65536,t=3,p=4$YmVuY2hzYWx0$YmVuY2hoYXNoYmVuY2hoYXNo"
// A new address for every call, of every client and round: a user created once keeps it.
const runTag = randomUUID().slice(0, 8)
let newUsers = 0
const newEmail = () => `new${newUsers++}-${runTag}@bench.test`
const usersCreate = (_i: number): ReadonlyArray<Statement> => {
  const id = randomUUID()
  const email = newEmail()
  return [
    { sql: insertUserSql("$1", "$2", "$3", "$4"), params: [id, email, newPasswordHash, false] },
    {
      sql: auditInsertParametersSql,
      // No actor: an array of NULLs goes as an empty array (unnest pads it), as the library sends it.
      params: [[randomUUID()], [], ["user.created"], [id], [JSON.stringify({ email, verified: false })]]
    }
  ]
}
const findUserByEmailSql = (email: string) => `SELECT 1 AS ord, ${userColumns} FROM users WHERE email = ${email}`

// The library fetches one row more than the page to know whether a next page exists.
const PageSize = 50
const PageFetch = PageSize + 1

export const makeOperations = (volume: Volume, deep: DeepPage): ReadonlyArray<Operation> => {
  const permissions = permissionCount(volume)
  const userOf = (i: number) => 1 + (mix(i, 1) % volume.users)
  // Half the checks ask for a permission of one of the user's roles (allowed), half for any (mostly denied).
  const permissionOf = (i: number) =>
    mix(i, 2) % 2 === 0
      ? rolesOfUser(volume, userOf(i))[0] * volume.permissionsPerRole + (mix(i, 3) % volume.permissionsPerRole)
      : mix(i, 3) % permissions
  const drawUser = `\\set n random(1, ${volume.users})\n`
  const hasPermission: Operation = {
    name: "hasPermission (no cache)",
    callers: [1, 32],
    library: ({ usersUncached }, i) =>
      usersUncached.hasPermission(userIdOf(userOf(i)) as UserId, permissionNameOf(permissionOf(i))),
    // src/Database/Postgres/UserStorePg.ts, `hasPermission`.
    sql: hasPermissionSql("$1", "$2"),
    params: (i) => [userIdOf(userOf(i)), permissionNameOf(permissionOf(i))],
    pgbench: {
      script: `${drawUser}\\set own random(0, 1)
\\set p :own * ((:n % ${volume.roles}) * ${volume.permissionsPerRole} + random(0, ${volume.permissionsPerRole - 1})) + (1 - :own) * random(0, ${permissions - 1})
${hasPermissionSql(userIdSql(":n"), permissionNameSql(":p"))};\n`
    }
  }
  const manyEntry = (k: number) => ({
    action: "bench.many",
    targetId: `many-${k}`,
    metadata: { k },
    actorId: userIdOf(1 + (k % volume.users)) as UserId
  })
  const manyEntries = Array.from({ length: AppendManyRows }, (_, k) => k)

  return [
    {
      name: "findById",
      callers: [1, 32],
      library: ({ users }, i) => users.findById(userIdOf(userOf(i)) as UserId),
      // src/Database/Postgres/UserStorePg.ts, `findById`.
      sql: findUserSql("$1"),
      params: (i) => [userIdOf(userOf(i))],
      pgbench: { script: `${drawUser}${findUserSql(userIdSql(":n"))};\n` }
    },
    {
      name: "entity findById",
      note: "a service's entity",
      callers: [1, 32],
      library: ({ notes }, i) => notes.findById(noteIdOf(userOf(i)) as never),
      sql: findNoteSql("$1"),
      params: (i) => [noteIdOf(userOf(i))],
      pgbench: { script: `${drawUser}${findNoteSql(noteIdSql(":n"))};\n` }
    },
    {
      name: "entity create",
      note: "a service's entity",
      callers: [1, 32],
      library: ({ notes }, i) => notes.create({ userId: userIdOf(userOf(i)) as UserId, title: `bench ${i}` }),
      sql: insertNoteSql("$1", "$2", "$3", "$4"),
      params: (i) => [randomUUID(), userIdOf(userOf(i)), `bench ${i}`, new Date(0)],
      // The id and the creation time are the library's.
      generated: (index) => index === 0 || index === 3,
      pgbench: {
        script: `${drawUser}${insertNoteSql("gen_random_uuid()", userIdSql(":n"), "'bench'", "now()")};\n`
      }
    },
    {
      name: "users create",
      note: "with its audit record",
      callers: [1, 32],
      library: ({ users }) =>
        users.create({ email: newEmail(), passwordHash: Redacted.make(newPasswordHash), verified: false }),
      sql: insertUserSql("$1", "$2", "$3", "$4"),
      params: (i) => usersCreate(i)[0]!.params,
      transaction: (i) => usersCreate(i),
      // The user's id, its e-mail (new for each call) and the audit record's id are the library's own.
      generated: (index, statement) => (statement === 0 ? index <= 1 : index === 0 || index === 3 || index === 4),
      pgbench: {
        // The audit record names the new user: its id read back with \gset.
        script: `BEGIN;
${insertUserSql("gen_random_uuid()", "('new' || gen_random_uuid() || '@bench.test')::citext", `'${newPasswordHash}'`, "false")} \\gset
${auditInsertSql("ARRAY[gen_random_uuid()]", "ARRAY[NULL]", "ARRAY['user.created']", "ARRAY[:id::text]", `ARRAY[json_build_object('email', :email::text, 'verified', false)::jsonb]`)};
COMMIT;\n`
      }
    },
    {
      name: "findByEmail",
      callers: [1, 32],
      library: ({ users }, i) => users.findByEmail(emailOf(userOf(i))),
      // src/Database/Postgres/UserStorePg.ts, `findByEmail`.
      sql: findUserByEmailSql("$1"),
      params: (i) => [emailOf(userOf(i))],
      pgbench: { script: `${drawUser}${findUserByEmailSql(emailSql(":n"))};\n` }
    },
    {
      // The library as configured by default: the permission cache on. The other clients have no cache.
      ...hasPermission,
      name: "hasPermission",
      note: "cache on",
      library: ({ users }, i) => users.hasPermission(userIdOf(userOf(i)) as UserId, permissionNameOf(permissionOf(i))),
      librarySql: hasPermission.library
    },
    hasPermission,
    {
      name: "findWithAccess",
      callers: [1, 32],
      library: ({ users }, i) => users.findWithAccess(userIdOf(userOf(i)) as UserId),
      // src/Database/Postgres/UserStorePg.ts, `findWithAccess`.
      sql: findWithAccessSql("$1"),
      params: (i) => [userIdOf(userOf(i))],
      pgbench: { script: `${drawUser}${findWithAccessSql(userIdSql(":n"))};\n` }
    },
    {
      name: "audit append",
      callers: [1, 32],
      library: ({ audit }, i) =>
        audit.append({
          action: "bench.append",
          targetId: String(i),
          metadata: { i },
          actorId: userIdOf(userOf(i)) as UserId
        }),
      sql: auditInsertParametersSql,
      params: (i) => [[randomUUID()], [userIdOf(userOf(i))], ["bench.append"], [String(i)], [JSON.stringify({ i })]],
      generated: (index) => index === 0,
      pgbench: {
        script: `${drawUser}\\set i random(1, 1000000000)
${auditInsertSql("ARRAY[gen_random_uuid()]", `ARRAY[${userIdSql(":n")}]`, "ARRAY['bench.append']", "ARRAY[:i::text]", `ARRAY['{"i":' || :i::bigint || '}']`)};\n`
      }
    },
    {
      name: "appendMany",
      note: `${AppendManyRows.toLocaleString("en")} rows`,
      callers: [1],
      library: ({ audit }) => audit.appendMany(manyEntries.map(manyEntry)),
      sql: auditInsertParametersSql,
      params: () => {
        const entries = manyEntries.map(manyEntry)
        return [
          entries.map(() => randomUUID()),
          entries.map((entry) => entry.actorId),
          entries.map((entry) => entry.action),
          entries.map((entry) => entry.targetId),
          entries.map((entry) => JSON.stringify(entry.metadata))
        ]
      },
      generated: (index) => index === 0,
      // pgbench binds only `\set` integers: the same rows as array literals in one prepared statement.
      pgbench: {
        script: `${(() => {
          const entries = manyEntries.map(manyEntry)
          const array = (values: ReadonlyArray<string>) => `ARRAY[${values.map((value) => `'${value}'`).join(",")}]`
          return auditInsertSql(
            `ARRAY(SELECT gen_random_uuid() FROM generate_series(1, ${AppendManyRows}))`,
            array(entries.map((entry) => entry.actorId)),
            array(entries.map((entry) => entry.action)),
            array(entries.map((entry) => entry.targetId)),
            array(entries.map((entry) => JSON.stringify(entry.metadata)))
          )
        })()};\n`
      },
      copy: {
        statement: `COPY audit_logs (id, actor_id, action, target_id, metadata) FROM STDIN`,
        rows: () =>
          manyEntries
            .map((k) => {
              const entry = manyEntry(k)
              return `${randomUUID()}\t${entry.actorId}\t${entry.action}\t${entry.targetId}\t${JSON.stringify(entry.metadata)}\n`
            })
            .join("")
      }
    },
    {
      name: "list, first page",
      note: `${PageSize} rows`,
      callers: [1, 32],
      library: ({ audit }) => audit.list({ limit: PageSize }),
      sql: auditListSql(deep.layout, undefined, (n) => `$${n}`),
      params: () => [PageFetch],
      pgbench: {
        script: `${auditListSql(deep.layout, undefined, () => ":limit")};\n`,
        defines: { limit: String(PageFetch) }
      }
    },
    {
      name: "list, deep page",
      note: `${PageSize} rows after ${volume.deepPageOffset.toLocaleString("en")}`,
      callers: [1, 32],
      library: ({ audit }) => audit.list({ limit: PageSize, cursor: deep.cursor }),
      sql: auditListSql(deep.layout, { micros: deep.afterMicros, where: deepWhere }, (n) => `$${n}`),
      params: () =>
        deep.layout === undefined
          ? [deep.afterMicros, deep.afterId, deep.afterMicros, PageFetch]
          : [deep.afterMicros, deep.afterId, deep.afterMicros, deep.afterId, PageFetch],
      pgbench: {
        script: `${auditListSql(
          deep.layout,
          { micros: deep.afterMicros, where: deepWhere },
          (n) =>
            (deep.layout === undefined
              ? [":after_us", ":after_id", ":after_us", ":limit"]
              : [":after_us", ":after_id", ":after_us", ":after_id", ":limit"])[n - 1]!
        )};\n`,
        defines: { after_us: deep.afterMicros, after_id: deep.afterId, limit: String(PageFetch) }
      }
    }
  ]
}

// src/Database/Postgres/UserStorePg.ts, `hasPermission`.
const hasPermissionSql = (userId: string, permission: string) => `SELECT 1 AS ord, EXISTS (
          SELECT 1 FROM user_roles ur
          JOIN role_permissions rp ON rp.role_id = ur.role_id
          JOIN permissions p ON p.id = rp.permission_id
          WHERE ur.user_id = ${userId} AND p.name = ${permission}
        ) AS allowed`

// src/Database/Postgres/UserStorePg.ts, `findWithAccess`.
const findWithAccessSql = (
  userId: string
) => `SELECT 1 AS ord, u.id, u.email, u.password_hash, u.verified, u.created_at, u.updated_at,
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
      FROM users u WHERE u.id = ${userId}`
