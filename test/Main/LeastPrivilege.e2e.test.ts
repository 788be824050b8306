/**
 * The service on a restricted role, with the README's very GRANT statements: migrations as the owner (their
 * own URL), `serve` as the service role with nothing pending, and what that role can and cannot do.
 */
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Context, DateTime, Effect, Layer } from "effect"
import { SqlError } from "effect/sql"
import { AppConfig } from "../../src/Config/AppConfig.ts"
import { sqlStateOf } from "../../src/Database/Client/SqlFailure.ts"
import * as Database from "../../src/Database/Database.ts"
import { AuditLogRepository } from "../../src/Database/Repositories/AuditLogRepository.ts"
import { PermissionRepository } from "../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../src/Database/Repositories/RoleRepository.ts"
import { UserRepository } from "../../src/Database/Repositories/UserRepository.ts"
import * as RepositoryLayers from "../../src/Database/RepositoryLayers.ts"
import { makeHash, uniqueEmail, uniquePermissionName, uniqueRoleName } from "../Contract/Fixtures.ts"
import { withAdmin } from "../support/adminClient.ts"
import { freePort } from "../support/freePort.ts"
import { adminUrl, scopedDatabase, testConfig } from "../support/TestDatabase.ts"
import { type CliResult, getJson, jsonLines, pollUntil, REPO_ROOT, runCli, startCli } from "./runCli.ts"

const describeRun = (result: CliResult) =>
  `exit ${result.code} (signal ${result.signal}, timed out: ${result.timedOut})\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`

/** The statements of the README's SQL block that starts with `marker`, one per entry, comments left out. */
const readmeStatements = (marker: string): ReadonlyArray<string> => {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8")
  const block = readme.split("```sql\n").find((part) => part.startsWith(marker))
  if (block === undefined) throw new Error(`README has no SQL block starting with "${marker}"`)
  return block
    .slice(0, block.indexOf("```"))
    .split("\n")
    .filter((line) => !line.startsWith("--"))
    .join("\n")
    .split(";")
    .map((statement) => statement.trim())
    .filter((statement) => statement !== "")
}

interface Roles {
  readonly owner: string
  readonly service: string
  readonly password: string
}

/** The README's names replaced by this test's own. */
const forTest = (statement: string, roles: Roles, database: string) =>
  statement
    .replaceAll("platform_owner", roles.owner)
    .replaceAll("platform_service", roles.service)
    .replaceAll(/'change-me-(owner|service)'/g, `'${roles.password}'`)
    .replaceAll(/DATABASE app\b/g, `DATABASE ${database}`)

/** Two roles of this test's own, dropped after everything that uses them (their database included). */
const scopedRoles = Effect.acquireRelease(
  Effect.sync(
    (): Roles => ({
      owner: `pk_owner_${randomBytes(4).toString("hex")}`,
      service: `pk_service_${randomBytes(4).toString("hex")}`,
      password: `pw-${randomBytes(8).toString("hex")}`
    })
  ),
  (roles) =>
    withAdmin(adminUrl(), (admin) =>
      Effect.andThen(
        admin.unsafe(`DROP ROLE IF EXISTS ${roles.service}`),
        admin.unsafe(`DROP ROLE IF EXISTS ${roles.owner}`)
      )
    ).pipe(Effect.ignore)
)

/** A fresh, empty database with the README's first block run on it, and the URL of each role. */
const prepared = Effect.gen(function* () {
  const roles = yield* scopedRoles
  const database = yield* scopedDatabase({ from: "empty" })
  yield* withAdmin(database.url, (admin) =>
    Effect.forEach(readmeStatements("-- 1. Once, as a superuser"), (statement) =>
      admin.unsafe(forTest(statement, roles, database.name))
    )
  ).pipe(Effect.orDie)
  const urlOf = (role: string) => {
    const url = new URL(database.url)
    url.username = role
    url.password = roles.password
    return url.toString()
  }
  return { roles, database, ownerUrl: urlOf(roles.owner), serviceUrl: urlOf(roles.service) }
})

/** Runs `serve` until /readyz answers 200, then SIGTERM; the report and how it exited. */
const serveUntilReady = (env: Record<string, string>) =>
  Effect.promise(async () => {
    const port = await freePort()
    const serve = startCli(["serve"], {
      env: { HTTP_HOST: "127.0.0.1", HTTP_PORT: String(port), LOG_FORMAT: "json", ...env },
      timeoutMs: 60_000
    })
    try {
      const ready = await pollUntil(
        "GET /readyz answers 200",
        async () => {
          const response = await getJson(`http://127.0.0.1:${port}/readyz`)
          return response.status === 200 ? response : undefined
        },
        {
          timeoutMs: 30_000,
          abort: () =>
            serve.child.exitCode !== null ? `serve exited ${serve.child.exitCode}: ${serve.stderr()}` : undefined
        }
      )
      serve.child.kill("SIGTERM")
      return { report: ready.body as { status: string; migrations: unknown }, result: await serve.exited }
    } finally {
      if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill("SIGKILL")
      await serve.exited
    }
  })

/** The SQLSTATE `statement` fails with, run as the role of `url` (undefined when it succeeds). */
const refusedWith = (url: string, statement: string) =>
  withAdmin(url, (sql) => sql.unsafe(statement)).pipe(
    Effect.match({
      onSuccess: () => undefined,
      onFailure: (error) => (SqlError.isSqlError(error) ? sqlStateOf(error) : String(error))
    })
  )

describe("least privilege", () => {
  it.live(
    "migrated by the owner, the service role serves with nothing pending, and can do its work but no more",
    () =>
      Effect.gen(function* () {
        const { roles, database, ownerUrl, serviceUrl } = yield* prepared
        const migrate = yield* Effect.promise(() => runCli(["migrate"], { env: { DATABASE_URL: ownerUrl } }))
        assert.strictEqual(migrate.code, 0, describeRun(migrate))
        yield* withAdmin(ownerUrl, (owner) =>
          Effect.forEach(readmeStatements("-- 2. As platform_owner"), (statement) =>
            owner.unsafe(forTest(statement, roles, database.name))
          )
        ).pipe(Effect.orDie)

        // migrate made the audit partitions ahead, as the owner.
        const partitions = yield* withAdmin(
          database.url,
          (sql) =>
            sql<{ readonly tablename: string; readonly tableowner: string }>`
            SELECT tablename, tableowner FROM pg_tables WHERE tablename LIKE 'audit\_logs\_%' ORDER BY tablename`
              .withoutTransform
        ).pipe(Effect.orDie)
        assert.isAtLeast(partitions.filter((row) => /^audit_logs_p\d{8}$/.test(row.tablename)).length, 4)
        assert.isTrue(
          partitions.every((row) => row.tableowner === roles.owner),
          JSON.stringify(partitions)
        )

        // The default (database.migrations.run: true) with nothing pending: it starts.
        const { report, result } = yield* serveUntilReady({ DATABASE_URL: serviceUrl })
        assert.strictEqual(report.status, "up")
        assert.deepStrictEqual(report.migrations, { latest: 6, pending: 0 })
        assert.strictEqual(result.code, 0, describeRun(result))
        assert.include(
          jsonLines(result.stdout).map((line) => line.message),
          "database schema is current"
        )

        // What it can do: the repositories, the audit trail.
        const config = yield* testConfig({ DATABASE_URL: serviceUrl })
        const services = yield* Layer.build(
          RepositoryLayers.layer.pipe(Layer.provideMerge(Database.layer), Layer.provide(AppConfig.layerFrom(config)))
        )
        const users = Context.get(services, UserRepository)
        const rolesRepo = Context.get(services, RoleRepository)
        const permissions = Context.get(services, PermissionRepository)
        const audit = Context.get(services, AuditLogRepository)
        const user = yield* users.create({ email: uniqueEmail("restricted"), passwordHash: makeHash() })
        const role = yield* rolesRepo.create({ name: uniqueRoleName() })
        const permission = yield* permissions.create({ name: uniquePermissionName() })
        yield* rolesRepo.grant(role.id, permission.id)
        yield* users.assignRole(user.id, role.id)
        assert.isTrue(yield* users.hasPermission(user.id, permission.name))
        yield* users.update(user.id, { verified: true })
        const entry = yield* audit.append({ action: "test.restricted", targetId: user.id })
        assert.isTrue(
          DateTime.Equivalence(yield* Effect.map(audit.findById(entry.id), (found) => found.timestamp), entry.timestamp)
        )
        yield* users.delete(user.id)

        // A back-dated row is stamped with the database's time, as are the repositories' rows.
        const [stamped] = yield* withAdmin(
          serviceUrl,
          (sql) =>
            sql<{ readonly backdated: boolean; readonly recent: boolean }>`
            INSERT INTO audit_logs (id, action, "timestamp")
            VALUES (gen_random_uuid(), 'test.backdated', '2001-01-01T00:00:00Z')
            RETURNING "timestamp" < '2002-01-01' AS backdated, "timestamp" > now() - interval '1 minute' AS recent`
        ).pipe(Effect.orDie)
        assert.deepStrictEqual({ ...stamped! }, { backdated: false, recent: true })
        // What the repository returned is what the database stamped.
        const [stored] = yield* withAdmin(
          serviceUrl,
          (sql) =>
            sql<{ readonly ms: string }>`
            SELECT (extract(epoch FROM "timestamp") * 1000)::text AS ms FROM audit_logs WHERE id = ${entry.id}`
        ).pipe(Effect.orDie)
        assert.approximately(Number(stored!.ms), DateTime.toEpochMillis(entry.timestamp), 1)

        // What it cannot do.
        const refusals = {
          "UPDATE audit_logs": yield* refusedWith(serviceUrl, "UPDATE audit_logs SET action = 'test.rewritten'"),
          "DELETE FROM audit_logs": yield* refusedWith(serviceUrl, "DELETE FROM audit_logs"),
          "TRUNCATE audit_logs": yield* refusedWith(serviceUrl, "TRUNCATE audit_logs"),
          // Nor touch a partition: only the owner makes, detaches or drops one (retention).
          "TRUNCATE audit_logs_legacy": yield* refusedWith(serviceUrl, "TRUNCATE audit_logs_legacy"),
          "DELETE FROM audit_logs_default": yield* refusedWith(serviceUrl, "DELETE FROM audit_logs_default"),
          "UPDATE audit_logs_legacy": yield* refusedWith(serviceUrl, "UPDATE audit_logs_legacy SET action = 'x.y'"),
          "DROP TABLE audit_logs_legacy": yield* refusedWith(serviceUrl, "DROP TABLE audit_logs_legacy"),
          "DETACH PARTITION": yield* refusedWith(
            serviceUrl,
            "ALTER TABLE audit_logs DETACH PARTITION audit_logs_legacy"
          ),
          "CREATE TABLE ... PARTITION OF": yield* refusedWith(
            serviceUrl,
            "CREATE TABLE audit_logs_p29990101 PARTITION OF audit_logs FOR VALUES FROM ('2999-01-01') TO ('2999-02-01')"
          ),
          "INSERT INTO schema_migrations": yield* refusedWith(
            serviceUrl,
            "INSERT INTO schema_migrations (migration_id, name) VALUES (99, 'forged')"
          ),
          "UPDATE schema_migrations": yield* refusedWith(serviceUrl, "UPDATE schema_migrations SET sha256 = 'x'"),
          "DELETE FROM schema_migrations": yield* refusedWith(serviceUrl, "DELETE FROM schema_migrations"),
          "CREATE TABLE": yield* refusedWith(serviceUrl, "CREATE TABLE intruder (id int)"),
          "ALTER TABLE": yield* refusedWith(serviceUrl, "ALTER TABLE users ADD COLUMN intruder int"),
          "DROP TABLE": yield* refusedWith(serviceUrl, "DROP TABLE role_permissions"),
          "CREATE FUNCTION": yield* refusedWith(
            serviceUrl,
            "CREATE FUNCTION intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'"
          )
        }
        assert.deepStrictEqual(
          refusals,
          Object.fromEntries(Object.keys(refusals).map((statement) => [statement, "42501"])) as typeof refusals
        )
      }).pipe(Effect.scoped),
    { timeout: 120_000 }
  )

  it.live(
    "serve with database.migrations.url migrates a fresh database as the owner and runs as the service; without it, the service role stops in one line",
    () =>
      Effect.gen(function* () {
        const { roles, ownerUrl, serviceUrl, database } = yield* prepared

        const port = yield* Effect.promise(freePort)
        const refused = yield* Effect.promise(() =>
          runCli(["serve"], { env: { DATABASE_URL: serviceUrl, HTTP_PORT: String(port) }, timeoutMs: 60_000 })
        )
        assert.strictEqual(refused.code, 1, describeRun(refused))
        const lines = refused.stderr.trim().split("\n")
        assert.lengthOf(lines, 1, describeRun(refused))
        assert.match(lines[0]!, /cannot apply 6 pending migration\(s\) as this role: .*database\.migrations\.url/)

        const { report, result } = yield* serveUntilReady({
          DATABASE_URL: serviceUrl,
          DATABASE_MIGRATIONS_URL: ownerUrl
        })
        assert.strictEqual(report.status, "up")
        assert.deepStrictEqual(report.migrations, { latest: 6, pending: 0 })
        assert.strictEqual(result.code, 0, describeRun(result))
        assert.notInclude(result.stdout + result.stderr, roles.password)

        const owners = yield* withAdmin(
          database.url,
          (sql) =>
            sql<{ readonly tablename: string; readonly tableowner: string }>`
            SELECT tablename, tableowner FROM pg_tables
            WHERE schemaname = 'public' AND tablename IN ('users', 'audit_logs', 'schema_migrations')
            ORDER BY tablename`.withoutTransform
        ).pipe(Effect.orDie)
        assert.deepStrictEqual(
          owners.map((row) => [row.tablename, row.tableowner]),
          [
            ["audit_logs", roles.owner],
            ["schema_migrations", roles.owner],
            ["users", roles.owner]
          ]
        )
      }).pipe(Effect.scoped),
    { timeout: 120_000 }
  )
})
