import { Duration, Schema, SchemaAST, SchemaTransformation } from "effect"
import { LoadBalanceHostsValues, TargetSessionAttrsValues } from "./HostList.ts"

// Every leaf carries a description: it is the "expected ..." part of a config error and the README reference.
const described = <S extends Schema.Top>(schema: S, description: string): S["Rebuild"] =>
  schema.annotate({ description }) as S["Rebuild"]

const positiveInt = described(Schema.Int.check(Schema.isGreaterThan(0)), "a positive integer")
const nonNegativeInt = described(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), "a non-negative integer")
const port = described(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 })), "a port number (1-65535)")
const text = described(Schema.String, "a string")
const flag = described(Schema.Boolean, "true or false")
const duration = described(
  Schema.DurationFromString.check(
    Schema.makeFilter((d: Duration.Duration) => Duration.isFinite(d) && Duration.toMillis(d) >= 0)
  ),
  'a duration such as "5 seconds" or "500 millis"'
)
const positiveDuration = described(
  Schema.DurationFromString.check(
    Schema.makeFilter((d: Duration.Duration) => Duration.isFinite(d) && Duration.toMillis(d) > 0)
  ),
  'a positive duration such as "5 seconds" or "500 millis"'
)
const secret = described(Schema.RedactedFromValue(Schema.String), "a string")
const identifier = described(
  Schema.String.check(Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_]*$/)),
  "an SQL identifier (letters, digits and _)"
)

/** libpq's `sslmode` values, with libpq's meaning (see README "TLS"). */
export const SslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const
/** One of `SslModes`. */
export type SslMode = (typeof SslModes)[number]

// `database.ssl` was a boolean: true and false (and the words the environment uses for them) still decode.
const sslModeWords: Readonly<Record<string, SslMode>> = {
  true: "require",
  yes: "require",
  on: "require",
  "1": "require",
  false: "disable",
  no: "disable",
  off: "disable",
  "0": "disable"
}
const sslMode = described(
  Schema.Literals([...SslModes, ...Object.keys(sslModeWords), true, false]).pipe(
    Schema.decodeTo(
      Schema.Literals(SslModes),
      SchemaTransformation.transform({
        decode: (value): SslMode =>
          typeof value === "boolean"
            ? value
              ? "require"
              : "disable"
            : (SslModes as ReadonlyArray<string>).includes(value)
              ? (value as SslMode)
              : sslModeWords[value]!,
        encode: (mode) => mode
      })
    )
  ),
  "one of disable, allow, prefer, require, verify-ca, verify-full (true means require, false disable)"
)

// libpq's port= list: one port for every host, or one per host (`database.host` is then a list too).
const portOrPortList = described(
  Schema.Union([
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 })),
    Schema.String.check(Schema.isPattern(/^\s*\d{1,5}\s*(,\s*\d{1,5}\s*)+$/))
  ]),
  "a port number (1-65535), or a comma-separated list of them (one per host)"
)
const targetSessionAttrs = described(
  Schema.Literals(["", ...TargetSessionAttrsValues]),
  "one of any, read-write, read-only, primary, standby, prefer-standby, or empty"
)
const loadBalanceHosts = described(Schema.Literals(LoadBalanceHostsValues), "disable or random")

/** An SQL identifier PostgreSQL keeps whole (it truncates longer names to 63 bytes). */
export const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
/** A schema name PostgreSQL accepts: an identifier, and not `pg_...` (reserved for the system). */
export const SCHEMA_NAME = /^(?!pg_)[A-Za-z_][A-Za-z0-9_]{0,62}$/

const optionalPattern = (pattern: RegExp) => new RegExp(`^(?:${pattern.source.slice(1, -1)})?$`)

// A service's own migrations; an empty directory means it has none (see AppConfig's cross-field rules).
const ServiceMigrationsConfig = Schema.Struct({
  directory: text,
  table: described(
    Schema.String.check(Schema.isPattern(optionalPattern(SQL_IDENTIFIER))),
    "an SQL identifier (letters, digits and _, at most 63), or empty"
  ),
  schema: described(
    Schema.String.check(Schema.isPattern(optionalPattern(SCHEMA_NAME))),
    "a schema name (letters, digits and _, at most 63, not starting with pg_), or empty"
  )
})

export const PoolConfig = Schema.Struct({
  maxConnections: positiveInt,
  minConnections: nonNegativeInt,
  connectionLifetime: positiveDuration,
  idleTimeout: positiveDuration,
  acquireTimeout: positiveDuration
})

export const DatabaseConfig = Schema.Struct({
  url: secret,
  host: text,
  port: portOrPortList,
  targetSessionAttrs,
  loadBalanceHosts,
  name: text,
  user: text,
  password: secret,
  ssl: sslMode,
  sslRootCert: text,
  applicationName: text,
  connectTimeout: positiveDuration,
  keepAlive: positiveDuration,
  statementTimeout: duration,
  queryTimeout: positiveDuration,
  prepare: flag,
  pgbouncer: flag,
  pool: PoolConfig,
  startup: Schema.Struct({ timeout: positiveDuration }),
  health: Schema.Struct({ timeout: positiveDuration }),
  migrations: Schema.Struct({
    run: flag,
    url: secret,
    directory: text,
    table: identifier,
    service: ServiceMigrationsConfig
  }),
  embedded: Schema.Struct({ dataDir: text, port }),
  permissionCache: Schema.Struct({ enabled: flag, maxUsers: positiveInt, listenUrl: secret }),
  replicas: Schema.Struct({
    url: secret,
    host: text,
    port: portOrPortList,
    targetSessionAttrs,
    loadBalanceHosts
  }),
  readFrom: described(Schema.Literals(["primary", "replicas"]), "primary or replicas"),
  readYourWrites: Schema.Struct({ timeout: duration })
})

/** `audit_logs` partitions, retention and archive (README "Audit partitions"). */
export const AuditConfig = Schema.Struct({
  partitions: Schema.Struct({
    period: described(Schema.Literals(["day", "week", "month"]), "day, week or month"),
    ahead: positiveInt,
    checkInterval: positiveDuration
  }),
  retention: described(
    Schema.Union([Schema.Literal("off"), positiveDuration]),
    'off, or a positive duration such as "400 days"'
  ),
  archive: Schema.Struct({ directory: text })
})

export const RbacRole = Schema.Struct({
  name: described(Schema.String, "a role name"),
  description: Schema.optionalKey(described(Schema.String, "a string")),
  permissions: described(Schema.Array(Schema.String), "a list of permission names")
})

export const AppConfigSchema = Schema.Struct({
  database: DatabaseConfig,
  http: Schema.Struct({ host: text, port }),
  shutdown: Schema.Struct({ drainDelay: duration, timeout: positiveDuration }),
  log: Schema.Struct({
    level: described(
      Schema.Literals(["all", "trace", "debug", "info", "warn", "error", "fatal", "none"]),
      "one of all, trace, debug, info, warn, error, fatal, none"
    ),
    format: described(Schema.Literals(["pretty", "json"]), "pretty or json"),
    destination: described(Schema.Literals(["stdout", "stderr"]), "stdout or stderr")
  }),
  rbac: Schema.Struct({ roles: described(Schema.Array(RbacRole), "a list of roles") }),
  audit: AuditConfig,
  telemetry: Schema.Struct({
    serviceName: described(Schema.NonEmptyString, "a non-empty string"),
    metrics: Schema.Struct({ enabled: flag }),
    otlp: Schema.Struct({
      endpoint: described(
        Schema.String.check(Schema.isPattern(/^(?:https?:\/\/\S+)?$/)),
        "an http(s):// URL of an OTLP/HTTP collector, or empty"
      ),
      protocol: described(Schema.Literals(["http/protobuf", "http/json"]), "http/protobuf or http/json"),
      logs: flag,
      exportInterval: positiveDuration
    })
  })
})

/** The decoded configuration: every key of `config/default.yaml`, typed (secrets as `Redacted`). */
export type AppConfigValues = typeof AppConfigSchema.Type
/** The `database` section of the configuration. */
export type DatabaseConfigValues = typeof DatabaseConfig.Type

/** The description of the leaf at `path`, used to say what a bad value should have been. */
export const expectationAt = (path: ReadonlyArray<PropertyKey>): string | undefined => {
  let schema: Schema.Top = AppConfigSchema
  for (const segment of path) {
    const fields = (schema as Partial<{ fields: Record<PropertyKey, Schema.Top> }>).fields
    const next = fields?.[segment]
    if (next === undefined) break
    schema = next
  }
  return SchemaAST.resolveDescription(schema.ast)
}
