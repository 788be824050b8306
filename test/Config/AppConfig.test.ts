import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { NodeFileSystem, NodePath } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Redacted, Result } from "effect"
import { afterAll } from "vitest"
import {
  AppConfig,
  bundledConfigFile,
  bundledMigrationsDirectory,
  type LoadOptions,
  loadAppConfig
} from "../../src/Config/AppConfig.ts"
import { ConfigLoadError } from "../../src/Config/ConfigError.ts"
import { databaseEndpointOf } from "../../src/Config/DatabaseEndpoint.ts"

const FileServices = Layer.merge(NodeFileSystem.layer, NodePath.layer)

const SECRET = "S3cr3t-Known-Pw"
const SECRET_URL = `postgres://app:${SECRET}@db.internal:5432/platform`

const load = (options: LoadOptions) => loadAppConfig(options).pipe(Effect.provide(FileServices))

/** The error message of a load that must fail. */
const loadError = (options: LoadOptions) =>
  Effect.gen(function* () {
    const exit = yield* Effect.exit(load(options))
    if (Exit.isSuccess(exit)) return assert.fail("the configuration loaded but should have been refused")
    const error = exit.cause.reasons[0]
    assert.strictEqual(error?._tag, "Fail")
    const failure = (error as { error: unknown }).error
    assert.instanceOf(failure, ConfigLoadError)
    return (failure as ConfigLoadError).message
  })

const tempRoot = mkdtempSync(join(tmpdir(), "pk-config-test-"))
afterAll(() => rmSync(tempRoot, { recursive: true, force: true }))
let fileCounter = 0

/** Writes `text` to a new YAML file and returns its path. */
const yamlFile = (text: string): string => {
  const path = join(tempRoot, `config-${++fileCounter}.yaml`)
  writeFileSync(path, text)
  return path
}

const bundledText = readFileSync(bundledConfigFile(), "utf8")

/** The bundled file with one line replaced. */
const bundledWith = (search: string, replacement: string): string => {
  assert.include(bundledText, search)
  return yamlFile(bundledText.replace(search, replacement))
}

describe("AppConfig", () => {
  describe("defaults from the bundled config/default.yaml", () => {
    it.effect("decodes every key with its documented default", () =>
      Effect.gen(function* () {
        const config = yield* load({ env: {} })
        const db = config.database
        assert.strictEqual(Redacted.value(db.url), "")
        assert.strictEqual(db.host, "")
        assert.strictEqual(db.port, 5432)
        assert.strictEqual(db.name, "postgres")
        assert.strictEqual(db.user, "postgres")
        assert.strictEqual(Redacted.value(db.password), "")
        assert.strictEqual(db.ssl, "disable")
        assert.strictEqual(db.sslRootCert, "")
        assert.strictEqual(db.applicationName, "platform-kernel")
        assert.strictEqual(Duration.toMillis(db.connectTimeout), 5_000)
        assert.strictEqual(Duration.toMillis(db.statementTimeout), 30_000)
        assert.strictEqual(Duration.toMillis(db.queryTimeout), 35_000)
        assert.strictEqual(Duration.toMillis(db.keepAlive), 10_000)
        assert.strictEqual(db.prepare, true)
        assert.strictEqual(db.pgbouncer, false)
        assert.strictEqual(Duration.toMillis(db.pool.acquireTimeout), 10_000)
        assert.strictEqual(Redacted.value(db.migrations.url), "")
        assert.strictEqual(Redacted.value(db.permissionCache.listenUrl), "")
        assert.strictEqual(db.pool.maxConnections, 10)
        assert.strictEqual(db.pool.minConnections, 1)
        assert.strictEqual(Duration.toMillis(db.pool.connectionLifetime), 3_600_000)
        assert.strictEqual(Duration.toMillis(db.pool.idleTimeout), 60_000)
        assert.strictEqual(Duration.toMillis(db.startup.timeout), 30_000)
        assert.strictEqual(Duration.toMillis(db.health.timeout), 2_000)
        assert.strictEqual(db.migrations.run, true)
        assert.strictEqual(db.migrations.table, "schema_migrations")
        // An empty directory means the bundled migrations; relative paths are made absolute.
        assert.strictEqual(db.migrations.directory, bundledMigrationsDirectory())
        assert.strictEqual(db.embedded.dataDir, resolve(".data/postgres"))
        assert.strictEqual(db.embedded.port, 54329)
        assert.deepStrictEqual(config.http, { host: "0.0.0.0", port: 8080 })
        assert.strictEqual(Duration.toMillis(config.shutdown.timeout), 10_000)
        assert.deepStrictEqual(config.log, { level: "info", format: "pretty", destination: "stdout" })
        assert.deepStrictEqual(config.rbac, { roles: [] })
      })
    )

    it.effect("AppConfig.layer provides the same values as loadAppConfig", () =>
      Effect.gen(function* () {
        const config = yield* AppConfig
        assert.strictEqual(config.http.port, 4321)
        assert.strictEqual(config.database.pool.maxConnections, 10)
      }).pipe(Effect.provide(AppConfig.layer({ env: { HTTP_PORT: "4321" } })))
    )
  })

  describe("environment overrides", () => {
    it.effect("env values win over the file, typed like the file's values; the rest stays as in the file", () =>
      Effect.gen(function* () {
        const config = yield* load({
          env: {
            DATABASE_POOL_MAX_CONNECTIONS: "25",
            DATABASE_URL: "postgres://app@db.example:6543/platform",
            HTTP_PORT: "9090",
            DATABASE_POOL_IDLE_TIMEOUT: "5 seconds",
            DATABASE_PREPARE: "false",
            DATABASE_SSL: "yes",
            LOG_FORMAT: "json",
            DATABASE_MIGRATIONS_DIRECTORY: "some/relative/dir",
            RBAC_ROLES: '[{"name":"admin","permissions":["iam.users.read"]}]'
          }
        })
        assert.strictEqual(config.database.pool.maxConnections, 25)
        assert.strictEqual(Redacted.value(config.database.url), "postgres://app@db.example:6543/platform")
        assert.strictEqual(config.http.port, 9090)
        assert.strictEqual(Duration.toMillis(config.database.pool.idleTimeout), 5_000)
        assert.strictEqual(config.database.prepare, false)
        assert.strictEqual(config.database.ssl, "require")
        assert.strictEqual(config.log.format, "json")
        assert.strictEqual(config.database.migrations.directory, resolve("some/relative/dir"))
        assert.deepStrictEqual(config.rbac.roles, [{ name: "admin", permissions: ["iam.users.read"] }])
        // Untouched keys keep the file's values.
        assert.strictEqual(config.database.pool.minConnections, 1)
        assert.strictEqual(config.http.host, "0.0.0.0")
        assert.strictEqual(config.log.level, "info")
      })
    )
  })

  describe("log.destination", () => {
    it.effect("is stdout by default, stderr from LOG_DESTINATION or the file", () =>
      Effect.gen(function* () {
        assert.strictEqual((yield* load({ env: {} })).log.destination, "stdout")
        assert.strictEqual((yield* load({ env: { LOG_DESTINATION: "stderr" } })).log.destination, "stderr")
        const path = yamlFile("log:\n  destination: stderr\n")
        const fromFile = yield* load({ path, env: {} })
        assert.strictEqual(fromFile.log.destination, "stderr")
        // The rest of the section keeps its defaults.
        assert.strictEqual(fromFile.log.format, "pretty")
        assert.strictEqual((yield* load({ path, env: { LOG_DESTINATION: "stdout" } })).log.destination, "stdout")
      })
    )

    it.effect("anything but stdout or stderr is refused, naming the key and where it came from", () =>
      Effect.gen(function* () {
        const message = yield* loadError({ env: { LOG_DESTINATION: "syslog" } })
        assert.include(message, "log.destination: expected stdout or stderr")
        assert.include(message, "(from LOG_DESTINATION)")
        const path = yamlFile("log:\n  destination: file\n")
        assert.include(yield* loadError({ path, env: {} }), `log.destination: expected stdout or stderr`)
      })
    )
  })

  describe("database.pgbouncer and database.migrations.url", () => {
    it.effect("pgbouncer alone turns prepared statements off", () =>
      Effect.gen(function* () {
        const config = yield* load({ env: { DATABASE_PGBOUNCER: "true" } })
        assert.isTrue(config.database.pgbouncer)
        assert.isFalse(config.database.prepare)
      })
    )

    it.effect("prepare set to true next to pgbouncer is refused, naming where it was set", () =>
      Effect.gen(function* () {
        const fromEnv = yield* loadError({ env: { DATABASE_PGBOUNCER: "true", DATABASE_PREPARE: "true" } })
        assert.strictEqual(
          fromEnv,
          "database.prepare: expected false with database.pgbouncer true (PgBouncer in transaction mode cannot keep named prepared statements), got true (from DATABASE_PREPARE)"
        )
        const path = yamlFile("database:\n  pgbouncer: true\n  prepare: true\n")
        assert.include(yield* loadError({ path, env: {} }), `got true (from ${path})`)
      })
    )

    it.effect("a bad migrations URL names its key and never shows the URL", () =>
      Effect.gen(function* () {
        const message = yield* loadError({
          env: { DATABASE_MIGRATIONS_URL: `postgres://owner:${SECRET}@db.internal:5432/platform?sslmode=sometimes` }
        })
        assert.match(message, /^database\.migrations\.url: unknown sslmode, got a string of 9 characters/)
        assert.include(message, "(from DATABASE_MIGRATIONS_URL)")
        assert.notInclude(message, SECRET)
        const notPostgres = yield* loadError({ env: { DATABASE_MIGRATIONS_URL: `mysql://owner:${SECRET}@db/x` } })
        assert.notInclude(notPostgres, SECRET)
        assert.match(notPostgres, /^database\.migrations\.url: /)
      })
    )
  })

  describe("database.permissionCache.listenUrl", () => {
    it.effect("is set from DATABASE_PERMISSION_CACHE_LISTEN_URL or the file, and kept redacted", () =>
      Effect.gen(function* () {
        const fromEnv = yield* load({ env: { DATABASE_PERMISSION_CACHE_LISTEN_URL: SECRET_URL } })
        const listenUrl = fromEnv.database.permissionCache.listenUrl
        assert.strictEqual(Redacted.value(listenUrl), SECRET_URL)
        assert.notInclude(String(listenUrl), SECRET)
        assert.notInclude(JSON.stringify(fromEnv), SECRET)
        const path = yamlFile(`database:\n  permissionCache:\n    listenUrl: "${SECRET_URL}"\n`)
        const fromFile = yield* load({ path, env: {} })
        assert.strictEqual(Redacted.value(fromFile.database.permissionCache.listenUrl), SECRET_URL)
      })
    )

    it.effect("a bad listen URL is refused like a bad database.url, naming its key and never showing it", () =>
      Effect.gen(function* () {
        const badMode = yield* loadError({
          env: {
            DATABASE_PERMISSION_CACHE_LISTEN_URL: `postgres://app:${SECRET}@db.internal:5432/platform?sslmode=sometimes`
          }
        })
        assert.match(badMode, /^database\.permissionCache\.listenUrl: unknown sslmode, got a string of 9 characters/)
        assert.include(badMode, "(from DATABASE_PERMISSION_CACHE_LISTEN_URL)")
        assert.notInclude(badMode, SECRET)
        const notPostgres = yield* loadError({
          env: { DATABASE_PERMISSION_CACHE_LISTEN_URL: `mysql://app:${SECRET}@db/x` }
        })
        assert.strictEqual(
          notPostgres,
          "database.permissionCache.listenUrl: expected a postgres:// or postgresql:// URL, got <redacted> (from DATABASE_PERMISSION_CACHE_LISTEN_URL)"
        )
        const wrongType = yield* loadError({
          path: yamlFile("database:\n  permissionCache:\n    listenUrl: [1]\n"),
          env: {}
        })
        assert.match(wrongType, /^database\.permissionCache\.listenUrl: expected a string, got <redacted>/)
      })
    )
  })

  describe("choosing the file", () => {
    it.effect("CONFIG_FILE selects another file", () =>
      Effect.gen(function* () {
        const path = bundledWith("maxConnections: 10", "maxConnections: 17")
        const config = yield* load({ env: { CONFIG_FILE: path } })
        assert.strictEqual(config.database.pool.maxConnections, 17)
      })
    )

    it.effect("the path option wins over CONFIG_FILE, and env still overrides the chosen file", () =>
      Effect.gen(function* () {
        const fromEnv = bundledWith("port: 8080", "port: 8181")
        const fromOption = bundledWith("port: 8080", "port: 8282")
        const config = yield* load({ path: fromOption, env: { CONFIG_FILE: fromEnv } })
        assert.strictEqual(config.http.port, 8282)
        const overridden = yield* load({ path: fromOption, env: { HTTP_PORT: "8383" } })
        assert.strictEqual(overridden.http.port, 8383)
      })
    )
    it.effect("a file with only some keys is laid over the bundled defaults", () =>
      Effect.gen(function* () {
        const path = yamlFile("http:\n  port: 9191\ndatabase:\n  pool:\n    maxConnections: 3\n")
        const config = yield* load({ path, env: {} })
        assert.strictEqual(config.http.port, 9191)
        assert.strictEqual(config.database.pool.maxConnections, 3)
        assert.strictEqual(config.database.pool.minConnections, 1)
        assert.strictEqual(config.http.host, "0.0.0.0")
        assert.strictEqual(config.log.format, "pretty")
      })
    )

    it.effect("a bad value blames the file that set it, and a default the bundled file", () =>
      Effect.gen(function* () {
        const path = yamlFile("http:\n  port: 0\n")
        assert.strictEqual(
          yield* loadError({ path, env: {} }),
          `http.port: expected a port number (1-65535), got zero (from ${path})`
        )
        const min = yamlFile("database:\n  pool:\n    minConnections: 50\n")
        assert.strictEqual(
          yield* loadError({ path: min, env: {} }),
          `database.pool.minConnections: expected at most database.pool.maxConnections, got a larger number (from ${min})`
        )
      })
    )
  })

  describe("a refused value is described, never repeated (it may be a secret under the wrong key)", () => {
    const PASSWORD = "S3cr3t-Pa55"

    it.effect.each([
      ["DATABASE_POOL_MAX_CONNECTIONS", "database.pool.maxConnections: expected a positive integer"],
      ["HTTP_PORT", "http.port: expected a port number (1-65535)"],
      ["DATABASE_PREPARE", "database.prepare: expected true or false"],
      ["SHUTDOWN_DRAIN_DELAY", 'shutdown.drainDelay: expected a duration such as "5 seconds" or "500 millis"'],
      ["LOG_FORMAT", "log.format: expected pretty or json"],
      [
        "DATABASE_SSL",
        "database.ssl: expected one of disable, allow, prefer, require, verify-ca, verify-full (true means require, false disable)"
      ],
      ["DATABASE_MIGRATIONS_TABLE", "database.migrations.table: expected an SQL identifier (letters, digits and _)"],
      [
        "TELEMETRY_OTLP_ENDPOINT",
        "telemetry.otlp.endpoint: expected an http(s):// URL of an OTLP/HTTP collector, or empty"
      ]
    ] as const)("the password in %s: the key, the expectation, a description and the variable", ([name, start]) =>
      Effect.gen(function* () {
        const message = yield* loadError({ env: { [name]: PASSWORD } })
        assert.strictEqual(message, `${start}, got a string of 11 characters (from ${name})`)
      })
    )

    it.effect("numbers are described by kind: negative, decimal, too many digits", () =>
      Effect.gen(function* () {
        const message = yield* loadError({
          env: { DATABASE_POOL_MAX_CONNECTIONS: "-3", DATABASE_PORT: "54.32", HTTP_PORT: "845112" }
        })
        assert.deepStrictEqual(message.split("\n").toSorted(), [
          "database.pool.maxConnections: expected a positive integer, got a negative number (from DATABASE_POOL_MAX_CONNECTIONS)",
          "database.port: expected a port number (1-65535), or a comma-separated list of them (one per host), got a decimal number (from DATABASE_PORT)",
          "http.port: expected a port number (1-65535), got a positive integer of 6 digits (from HTTP_PORT)"
        ])
      })
    )

    it.effect("from a file: a list, an empty string and a mapping, naming the file", () =>
      Effect.gen(function* () {
        const path = yamlFile(
          `http:\n  host: ["${PASSWORD}"]\nlog:\n  level: ""\ntelemetry:\n  serviceName: { secret: "${PASSWORD}" }\n`
        )
        const message = yield* loadError({ path, env: {} })
        assert.notInclude(message, PASSWORD)
        assert.deepStrictEqual(message.split("\n").toSorted(), [
          `http.host: expected a string, got a list of 1 item (from ${path})`,
          `log.level: expected one of all, trace, debug, info, warn, error, fatal, none, got an empty string (from ${path})`,
          `telemetry.serviceName: expected a non-empty string, got a mapping of 1 key (from ${path})`
        ])
      })
    )

    it.effect("cross-field rules name the keys, not the values", () =>
      Effect.gen(function* () {
        const message = yield* loadError({
          env: { DATABASE_POOL_MIN_CONNECTIONS: "845112", DATABASE_POOL_MAX_CONNECTIONS: "845111" }
        })
        assert.strictEqual(
          message,
          "database.pool.minConnections: expected at most database.pool.maxConnections, got a larger number (from DATABASE_POOL_MIN_CONNECTIONS)"
        )
      })
    )

    it.effect("OTEL_EXPORTER_OTLP_ENDPOINT is described too", () =>
      Effect.gen(function* () {
        const message = yield* loadError({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: PASSWORD } })
        assert.strictEqual(
          message,
          "telemetry.otlp.endpoint: expected an http(s):// URL of an OTLP/HTTP collector, got a string of 11 characters (from OTEL_EXPORTER_OTLP_ENDPOINT)"
        )
      })
    )

    it.effect("a YAML syntax error gives its place, not the text around it", () =>
      Effect.gen(function* () {
        const path = yamlFile(`http:\n  host: ${PASSWORD}: [\n`)
        const message = yield* loadError({ path, env: {} })
        assert.notInclude(message, PASSWORD)
        assert.match(message, /: not valid YAML: [A-Z_]+ at line \d+, column \d+$/)
      })
    )
  })

  describe("error messages: one line per problem, naming the key, the value and its source", () => {
    it.effect("a bad env value names the env var", () =>
      Effect.gen(function* () {
        const message = yield* loadError({ env: { DATABASE_POOL_MAX_CONNECTIONS: "ten" } })
        assert.strictEqual(
          message,
          `database.pool.maxConnections: expected a positive integer, got a string of 3 characters (from DATABASE_POOL_MAX_CONNECTIONS)`
        )
      })
    )

    it.effect("a bad value from the file names the file path", () =>
      Effect.gen(function* () {
        const path = bundledWith("maxConnections: 10", "maxConnections: ten")
        const message = yield* loadError({ path, env: {} })
        assert.strictEqual(
          message,
          `database.pool.maxConnections: expected a positive integer, got a string of 3 characters (from ${path})`
        )
      })
    )

    it.effect("zero connections is refused", () =>
      Effect.gen(function* () {
        const message = yield* loadError({ env: { DATABASE_POOL_MAX_CONNECTIONS: "0" } })
        assert.strictEqual(
          message,
          "database.pool.maxConnections: expected a positive integer, got zero (from DATABASE_POOL_MAX_CONNECTIONS)"
        )
      })
    )

    it.effect("every bad value is reported, one per line", () =>
      Effect.gen(function* () {
        const message = yield* loadError({ env: { DATABASE_POOL_MAX_CONNECTIONS: "ten", HTTP_PORT: "http" } })
        assert.deepStrictEqual(message.split("\n").toSorted(), [
          `database.pool.maxConnections: expected a positive integer, got a string of 3 characters (from DATABASE_POOL_MAX_CONNECTIONS)`,
          `http.port: expected a port number (1-65535), got a string of 4 characters (from HTTP_PORT)`
        ])
      })
    )

    it.effect("minConnections above maxConnections", () =>
      Effect.gen(function* () {
        const message = yield* loadError({
          env: { DATABASE_POOL_MIN_CONNECTIONS: "5", DATABASE_POOL_MAX_CONNECTIONS: "2" }
        })
        assert.strictEqual(
          message,
          "database.pool.minConnections: expected at most database.pool.maxConnections, got a larger number (from DATABASE_POOL_MIN_CONNECTIONS)"
        )
      })
    )

    it.effect("a bad duration", () =>
      Effect.gen(function* () {
        const message = yield* loadError({ env: { DATABASE_POOL_IDLE_TIMEOUT: "soon" } })
        assert.strictEqual(
          message,
          `database.pool.idleTimeout: expected a positive duration such as "5 seconds" or "500 millis", got a string of 4 characters (from DATABASE_POOL_IDLE_TIMEOUT)`
        )
      })
    )

    it.effect("a bad port: out of range and not a number", () =>
      Effect.gen(function* () {
        assert.strictEqual(
          yield* loadError({ env: { HTTP_PORT: "70000" } }),
          "http.port: expected a port number (1-65535), got a positive integer of 5 digits (from HTTP_PORT)"
        )
        assert.strictEqual(
          yield* loadError({ env: { DATABASE_PORT: "abc" } }),
          `database.port: expected a port number (1-65535), or a comma-separated list of them (one per host), got a string of 3 characters (from DATABASE_PORT)`
        )
      })
    )

    it.effect("a bad boolean", () =>
      Effect.gen(function* () {
        assert.strictEqual(
          yield* loadError({ env: { DATABASE_PREPARE: "maybe" } }),
          `database.prepare: expected true or false, got a string of 5 characters (from DATABASE_PREPARE)`
        )
      })
    )

    it.effect("an unknown key in the file", () =>
      Effect.gen(function* () {
        const path = bundledWith("  prepare: true\n", "  prepare: true\n  prepared: false\n")
        assert.strictEqual(yield* loadError({ path, env: {} }), `database.prepared: unknown key (from ${path})`)
      })
    )

    it.effect("invalid YAML names the file and the position, on one line", () =>
      Effect.gen(function* () {
        const path = yamlFile("database: [\n  url: : :\n")
        const message = yield* loadError({ path, env: {} })
        assert.match(message, new RegExp(`^${escapeRegExp(path)}: not valid YAML: .*line 2, column \\d+`))
        assert.notInclude(message, "\n")
      })
    )

    it.effect("a YAML document that is not a mapping", () =>
      Effect.gen(function* () {
        const path = yamlFile("- just\n- a list\n")
        const message = yield* loadError({ path, env: {} })
        assert.include(message, `${path}: expected a YAML mapping at the top level`)
      })
    )

    it.effect("a missing file names the path", () =>
      Effect.gen(function* () {
        const path = join(tempRoot, "does-not-exist.yaml")
        const message = yield* loadError({ path, env: {} })
        assert.match(message, new RegExp(`^cannot read the configuration file ${escapeRegExp(path)}: `))
        const viaEnv = yield* loadError({ env: { CONFIG_FILE: path } })
        assert.include(viaEnv, `cannot read the configuration file ${path}`)
      })
    )

    it.effect("a non-postgres URL", () =>
      Effect.gen(function* () {
        assert.strictEqual(
          yield* loadError({ env: { DATABASE_URL: "mysql://app@db.internal/platform" } }),
          "database.url: expected a postgres:// or postgresql:// URL, got <redacted> (from DATABASE_URL)"
        )
        const config = yield* load({ env: { DATABASE_URL: "postgresql://app@db.internal/platform" } })
        assert.strictEqual(Redacted.value(config.database.url), "postgresql://app@db.internal/platform")
      })
    )

    it.effect("a postgres URL that cannot be parsed", () =>
      Effect.gen(function* () {
        assert.strictEqual(
          yield* loadError({ env: { DATABASE_URL: "postgres://app@db.internal:notaport/platform" } }),
          "database.url: expected a postgres:// or postgresql:// URL, got <redacted> (from DATABASE_URL)"
        )
      })
    )
  })

  describe("several hosts (libpq's multi-host strings)", () => {
    const endpoint = (env: Record<string, string>) =>
      Effect.gen(function* () {
        const config = yield* load({ env })
        const checked = databaseEndpointOf(config.database)
        if (Result.isFailure(checked)) return assert.fail(`refused: ${checked.failure.problem}`)
        return checked.success
      })

    it.effect("a URL listing hosts: each with its port, target_session_attrs and load_balance_hosts read", () =>
      Effect.gen(function* () {
        const found = yield* endpoint({
          DATABASE_URL: `postgres://app:${SECRET}@h1:5432,h2:5433,[::1]/platform?target_session_attrs=read-write&load_balance_hosts=random`
        })
        assert.deepStrictEqual(found.hosts, [
          { host: "h1", port: 5432 },
          { host: "h2", port: 5433 },
          { host: "::1", port: 5432 }
        ])
        assert.strictEqual(found.host, "h1")
        assert.strictEqual(found.database, "platform")
        assert.strictEqual(found.targetSessionAttrs, "read-write")
        assert.strictEqual(found.loadBalanceHosts, "random")
      })
    )

    it.effect(
      "several hosts without target_session_attrs are read-write (the pool writes); one host is unchecked",
      () =>
        Effect.gen(function* () {
          assert.strictEqual(
            (yield* endpoint({ DATABASE_URL: "postgres://app@h1,h2/platform" })).targetSessionAttrs,
            "read-write"
          )
          assert.strictEqual(
            (yield* endpoint({ DATABASE_URL: "postgres://app@h1/platform" })).targetSessionAttrs,
            undefined
          )
          const explicit = yield* endpoint({ DATABASE_URL: "postgres://app@h1/platform?target_session_attrs=standby" })
          assert.strictEqual(explicit.targetSessionAttrs, "standby")
        })
    )

    it.effect("host= and port= parameters may be lists and win over the authority", () =>
      Effect.gen(function* () {
        const found = yield* endpoint({ DATABASE_URL: "postgres:///platform?user=app&host=a,b&port=6001,6002" })
        assert.deepStrictEqual(found.hosts, [
          { host: "a", port: 6001 },
          { host: "b", port: 6002 }
        ])
      })
    )

    it.effect("database.host and database.port as comma lists, with database.targetSessionAttrs", () =>
      Effect.gen(function* () {
        const paired = yield* endpoint({
          DATABASE_HOST: "db1, db2",
          DATABASE_PORT: "5432,5433",
          DATABASE_TARGET_SESSION_ATTRS: "primary"
        })
        assert.deepStrictEqual(paired.hosts, [
          { host: "db1", port: 5432 },
          { host: "db2", port: 5433 }
        ])
        assert.strictEqual(paired.targetSessionAttrs, "primary")
        const onePort = yield* endpoint({ DATABASE_HOST: "db1,db2", DATABASE_PORT: "6543" })
        assert.deepStrictEqual(
          onePort.hosts.map((h) => h.port),
          [6543, 6543]
        )
      })
    )

    it.effect("bad lists are one-line errors naming the key, never the URL", () =>
      Effect.gen(function* () {
        const cases: ReadonlyArray<readonly [Record<string, string>, string]> = [
          [
            { DATABASE_URL: `postgres://app:${SECRET}@h1,,h2/platform` },
            "database.url: the URL's host list has an empty entry (from DATABASE_URL)"
          ],
          [
            { DATABASE_URL: `postgres://app:${SECRET}@h1:5432,h2:99999/platform` },
            "database.url: the port is not a port number (1-65535) (from DATABASE_URL)"
          ],
          [
            { DATABASE_URL: `postgres://app:${SECRET}@h1,h2/platform?target_session_attrs=writable` },
            "database.url: unknown target_session_attrs (expected one of any, read-write, read-only, primary, standby, prefer-standby) (from DATABASE_URL)"
          ],
          [
            { DATABASE_URL: `postgres://app:${SECRET}@h/platform?host=a,b,c&port=1,2` },
            "database.url: port parameter lists 2 ports for 3 hosts (from DATABASE_URL)"
          ],
          [
            { DATABASE_HOST: "a,b,c", DATABASE_PORT: "5432,5433" },
            "database.port: database.port lists 2 ports for 3 hosts (from DATABASE_PORT)"
          ],
          [
            { DATABASE_TARGET_SESSION_ATTRS: "master" },
            "database.targetSessionAttrs: expected one of any, read-write, read-only, primary, standby, prefer-standby, or empty, got a string of 6 characters (from DATABASE_TARGET_SESSION_ATTRS)"
          ]
        ]
        for (const [env, expected] of cases) {
          const message = yield* loadError({ env })
          assert.strictEqual(message, expected)
          assert.notInclude(message, SECRET)
        }
      })
    )

    it.effect("database.replicas, database.readFrom and database.readYourWrites.timeout", () =>
      Effect.gen(function* () {
        const defaults = (yield* load({ env: {} })).database
        assert.strictEqual(Redacted.value(defaults.replicas.url), "")
        assert.strictEqual(defaults.replicas.host, "")
        assert.strictEqual(defaults.replicas.targetSessionAttrs, "prefer-standby")
        assert.strictEqual(defaults.replicas.loadBalanceHosts, "random")
        assert.strictEqual(defaults.readFrom, "primary")
        assert.strictEqual(Duration.toMillis(defaults.readYourWrites.timeout), 1000)
        const set = (yield* load({
          env: {
            DATABASE_REPLICAS_URL: `postgres://app:${SECRET}@r1,r2/platform`,
            DATABASE_READ_FROM: "replicas",
            DATABASE_READ_YOUR_WRITES_TIMEOUT: "250 millis"
          }
        })).database
        assert.strictEqual(set.readFrom, "replicas")
        assert.strictEqual(Duration.toMillis(set.readYourWrites.timeout), 250)
        assert.strictEqual(
          yield* loadError({ env: { DATABASE_READ_FROM: "standby" } }),
          "database.readFrom: expected primary or replicas, got a string of 7 characters (from DATABASE_READ_FROM)"
        )
        const badReplicaUrl = yield* loadError({ env: { DATABASE_REPLICAS_URL: `mysql://app:${SECRET}@r1/platform` } })
        assert.match(badReplicaUrl, /^database\.replicas\.url: /)
        assert.notInclude(badReplicaUrl, SECRET)
        assert.strictEqual(
          yield* loadError({ env: { DATABASE_READ_FROM: "replicas" } }),
          "database.readFrom: replicas needs database.replicas.url or database.replicas.host (from DATABASE_READ_FROM)"
        )
      })
    )
  })

  describe("TLS settings", () => {
    it.effect("database.ssl takes an sslmode; true and false (the old form) mean require and disable", () =>
      Effect.gen(function* () {
        for (const mode of ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const) {
          assert.strictEqual((yield* load({ env: { DATABASE_SSL: mode } })).database.ssl, mode)
        }
        assert.strictEqual((yield* load({ env: { DATABASE_SSL: "true" } })).database.ssl, "require")
        assert.strictEqual((yield* load({ env: { DATABASE_SSL: "false" } })).database.ssl, "disable")
        const fromFile = (value: string) => load({ path: bundledWith("ssl: disable", `ssl: ${value}`), env: {} })
        assert.strictEqual((yield* fromFile("true")).database.ssl, "require")
        assert.strictEqual((yield* fromFile("false")).database.ssl, "disable")
        assert.strictEqual((yield* fromFile("verify-full")).database.ssl, "verify-full")
      })
    )

    it.effect("an unknown database.ssl names the key, the values it takes and where it came from", () =>
      Effect.gen(function* () {
        assert.strictEqual(
          yield* loadError({ env: { DATABASE_SSL: "verify_full" } }),
          "database.ssl: expected one of disable, allow, prefer, require, verify-ca, verify-full (true means require, false disable), got a string of 11 characters (from DATABASE_SSL)"
        )
      })
    )

    it.effect("an unknown sslmode in the URL is a configuration error naming database.url, not its password", () =>
      Effect.gen(function* () {
        assert.strictEqual(
          yield* loadError({ env: { DATABASE_URL: `postgres://app:${SECRET}@db.internal/platform?sslmode=verify` } }),
          "database.url: unknown sslmode, got a string of 6 characters (expected one of disable, allow, prefer, require, verify-ca, verify-full) (from DATABASE_URL)"
        )
      })
    )

    it.effect("a malformed percent-escape in the URL is a configuration error that does not echo the URL", () =>
      Effect.gen(function* () {
        const cases = [
          ["postgres://u:%zz@db.internal/platform", "password"],
          ["postgres://%zz:pw@db.internal/platform", "user name"],
          ["postgres://u:pw@db.internal/pl%zzatform", "database name"]
        ] as const
        for (const [url, part] of cases) {
          const message = yield* loadError({ env: { DATABASE_URL: url } })
          assert.strictEqual(message, `database.url: malformed percent-encoding in the ${part} (from DATABASE_URL)`)
          assert.notInclude(message, "%zz")
        }
      })
    )

    it.effect("client certificates in the URL are refused rather than ignored", () =>
      Effect.gen(function* () {
        assert.strictEqual(
          yield* loadError({ env: { DATABASE_URL: "postgres://app@db.internal/platform?sslcert=/etc/client.crt" } }),
          "database.url: sslcert is not supported (no client certificates) (from DATABASE_URL)"
        )
      })
    )

    it.effect('sslrootcert "system" needs verify-full, as in libpq', () =>
      Effect.gen(function* () {
        assert.strictEqual(
          yield* loadError({
            env: { DATABASE_URL: "postgres://app@db.internal/platform?sslmode=require&sslrootcert=system" }
          }),
          'database.url: sslrootcert "system" needs sslmode verify-full, got require (from DATABASE_URL)'
        )
        assert.strictEqual(
          yield* loadError({ env: { DATABASE_HOST: "db.internal", DATABASE_SSL_ROOT_CERT: "system" } }),
          'database.sslRootCert: sslrootcert "system" needs sslmode verify-full, got disable (from DATABASE_SSL_ROOT_CERT)'
        )
        const config = yield* load({ env: { DATABASE_SSL: "verify-full", DATABASE_SSL_ROOT_CERT: "system" } })
        assert.strictEqual(config.database.sslRootCert, "system")
      })
    )

    it.effect("database.sslRootCert is made absolute once, like the other paths", () =>
      Effect.gen(function* () {
        const config = yield* load({ env: { DATABASE_SSL_ROOT_CERT: "certs/root.crt" } })
        assert.strictEqual(config.database.sslRootCert, resolve("certs/root.crt"))
      })
    )
  })

  describe("secrets", () => {
    it.effect("the URL and password are Redacted values", () =>
      Effect.gen(function* () {
        const config = yield* load({ env: { DATABASE_URL: SECRET_URL, DATABASE_PASSWORD: SECRET } })
        assert.isTrue(Redacted.isRedacted(config.database.url))
        assert.isTrue(Redacted.isRedacted(config.database.password))
        assert.strictEqual(Redacted.value(config.database.url), SECRET_URL)
        assert.strictEqual(Redacted.value(config.database.password), SECRET)
        assert.notInclude(String(config.database.url), SECRET)
        assert.notInclude(String(config.database.password), SECRET)
        assert.notInclude(JSON.stringify(config), SECRET)
        assert.notInclude(JSON.stringify(config.database), "db.internal")
      })
    )

    const leakCases: ReadonlyArray<readonly [string, () => LoadOptions]> = [
      ["a non-postgres URL", () => ({ env: { DATABASE_URL: `mysql://app:${SECRET}@db.internal/platform` } })],
      [
        "an unparseable postgres URL",
        () => ({ env: { DATABASE_URL: `postgres://app:${SECRET}@db.internal:port/platform` } })
      ],
      [
        "another bad value next to a secret URL and password",
        () => ({ env: { DATABASE_URL: SECRET_URL, DATABASE_PASSWORD: SECRET, DATABASE_POOL_MAX_CONNECTIONS: "ten" } })
      ],
      [
        "a password of the wrong type in the file",
        () => ({ path: bundledWith('password: ""', "password: 12345"), env: {} })
      ],
      ["a URL of the wrong type in the file", () => ({ path: bundledWith('url: ""', `url: [${SECRET}]`), env: {} })],
      [
        "a URL under a misspelled key",
        () => ({ path: bundledWith('  url: ""\n', `  url: ""\n  uri: "${SECRET_URL}"\n`), env: {} })
      ],
      [
        "an unterminated quote around the URL",
        () => ({ path: bundledWith('url: ""', `url: "${SECRET_URL}`), env: {} })
      ],
      [
        "a URL in a file that is not YAML",
        () => ({ path: yamlFile(`database:\n  url: ${SECRET_URL}\n   bad: [indent\n`), env: {} })
      ],
      [
        "the secret as a bad password in the environment",
        () => ({ env: { DATABASE_PASSWORD: SECRET, DATABASE_URL: `ftp://${SECRET}` } })
      ]
    ]

    for (const [name, options] of leakCases) {
      it.effect(`no error message shows the secret: ${name}`, () =>
        Effect.gen(function* () {
          const message = yield* loadError(options())
          assert.notInclude(message, SECRET)
          assert.notInclude(message, "db.internal")
        })
      )
    }

    it.effect("a password of the wrong type is reported as <redacted>", () =>
      Effect.gen(function* () {
        const path = bundledWith('password: ""', "password: 12345")
        assert.strictEqual(
          yield* loadError({ path, env: {} }),
          `database.password: expected a string, got <redacted> (from ${path})`
        )
      })
    )
  })
})

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

describe("telemetry", () => {
  it.effect("defaults: metrics on, nothing exported", () =>
    Effect.gen(function* () {
      const config = yield* load({ env: {} })
      assert.deepStrictEqual(config.telemetry, {
        serviceName: "platform-kernel",
        metrics: { enabled: true },
        otlp: { endpoint: "", protocol: "http/protobuf", logs: false, exportInterval: Duration.seconds(5) }
      })
    })
  )

  it.effect("the standard OTEL_ variables stand in for the endpoint and the service name", () =>
    Effect.gen(function* () {
      const config = yield* load({
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_SERVICE_NAME: "iam" }
      })
      assert.strictEqual(config.telemetry.otlp.endpoint, "http://collector:4318")
      assert.strictEqual(config.telemetry.serviceName, "iam")
    })
  )

  it.effect("the kernel's own keys win over the OTEL_ variables, from the environment or the operator's file", () =>
    Effect.gen(function* () {
      const fromEnv = yield* load({
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
          TELEMETRY_OTLP_ENDPOINT: "https://traces.internal",
          OTEL_SERVICE_NAME: "iam",
          TELEMETRY_SERVICE_NAME: "kernel-a"
        }
      })
      assert.strictEqual(fromEnv.telemetry.otlp.endpoint, "https://traces.internal")
      assert.strictEqual(fromEnv.telemetry.serviceName, "kernel-a")
      const fromFile = yield* load({
        path: yamlFile('telemetry:\n  serviceName: kernel-b\n  otlp:\n    endpoint: "http://file:4318"\n'),
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_SERVICE_NAME: "iam" }
      })
      assert.strictEqual(fromFile.telemetry.otlp.endpoint, "http://file:4318")
      assert.strictEqual(fromFile.telemetry.serviceName, "kernel-b")
    })
  )

  it.effect("an endpoint that is not an http(s) URL is refused, naming where it came from", () =>
    Effect.gen(function* () {
      const own = yield* loadError({ env: { TELEMETRY_OTLP_ENDPOINT: "collector:4318" } })
      assert.include(own, "telemetry.otlp.endpoint: expected an http(s):// URL")
      assert.include(own, "TELEMETRY_OTLP_ENDPOINT")
      const standard = yield* loadError({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: "grpc://collector:4317" } })
      assert.include(standard, "telemetry.otlp.endpoint: expected an http(s):// URL")
      assert.include(standard, "OTEL_EXPORTER_OTLP_ENDPOINT")
    })
  )

  describe("audit partitions, retention and archive", () => {
    it.effect("defaults: monthly partitions three ahead, checked hourly, no retention, no archive", () =>
      Effect.gen(function* () {
        const { audit } = yield* load({ env: {} })
        assert.strictEqual(audit.partitions.period, "month")
        assert.strictEqual(audit.partitions.ahead, 3)
        assert.strictEqual(Duration.toMillis(audit.partitions.checkInterval), 3_600_000)
        assert.strictEqual(audit.retention, "off")
        assert.strictEqual(audit.archive.directory, "")
      })
    )

    it.effect("the environment sets each, typed", () =>
      Effect.gen(function* () {
        const { audit } = yield* load({
          env: {
            AUDIT_PARTITIONS_PERIOD: "day",
            AUDIT_PARTITIONS_AHEAD: "7",
            AUDIT_PARTITIONS_CHECK_INTERVAL: "10 minutes",
            AUDIT_RETENTION: "400 days",
            AUDIT_ARCHIVE_DIRECTORY: "/var/lib/audit-archive"
          }
        })
        assert.strictEqual(audit.partitions.period, "day")
        assert.strictEqual(audit.partitions.ahead, 7)
        assert.strictEqual(Duration.toMillis(audit.partitions.checkInterval), 600_000)
        assert.notStrictEqual(audit.retention, "off")
        assert.strictEqual(Duration.toMillis(audit.retention as Duration.Duration), 400 * 86_400_000)
        assert.strictEqual(audit.archive.directory, "/var/lib/audit-archive")
      })
    )

    it.effect("bad values name the key, what it takes and where they came from", () =>
      Effect.gen(function* () {
        assert.strictEqual(
          yield* loadError({ env: { AUDIT_PARTITIONS_PERIOD: "year" } }),
          `audit.partitions.period: expected day, week or month, got a string of 4 characters (from AUDIT_PARTITIONS_PERIOD)`
        )
        assert.strictEqual(
          yield* loadError({ env: { AUDIT_PARTITIONS_AHEAD: "0" } }),
          `audit.partitions.ahead: expected a positive integer, got zero (from AUDIT_PARTITIONS_AHEAD)`
        )
        assert.strictEqual(
          yield* loadError({ env: { AUDIT_RETENTION: "forever" } }),
          `audit.retention: expected off, or a positive duration such as "400 days", got a string of 7 characters (from AUDIT_RETENTION)`
        )
        assert.strictEqual(
          yield* loadError({ env: { AUDIT_RETENTION: "0 days" } }),
          `audit.retention: expected off, or a positive duration such as "400 days", got a string of 6 characters (from AUDIT_RETENTION)`
        )
      })
    )
  })
})
