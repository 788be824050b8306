import {
  Context,
  Effect,
  FileSystem,
  Layer,
  Option,
  Path,
  Predicate,
  Redacted,
  Result,
  Schema,
  SchemaIssue
} from "effect"
import { ConfigLoadError, describeRefusedValue } from "./ConfigError.ts"
import { AppConfigSchema, type AppConfigValues, expectationAt } from "./ConfigSchema.ts"
import {
  leafPaths,
  mergeOver,
  overlayEnv,
  parseYamlDocument,
  type RawConfig,
  sourceOf,
  valueAt
} from "./ConfigSource.ts"
import { databaseEndpointOf } from "./DatabaseEndpoint.ts"
import * as NodeFiles from "./NodeFiles.ts"
import { packageFile } from "./PackageFiles.ts"

/** The configuration file shipped with platform-kernel; it lists every key with its default. */
export const bundledConfigFile = (): string => packageFile("config", "default.yaml")
/** The kernel's migrations shipped with platform-kernel, used when `database.migrations.directory` is empty. */
export const bundledMigrationsDirectory = (): string => packageFile("migrations")

/** Where `loadAppConfig` and `AppConfig.layer` read the configuration from. */
export interface LoadOptions {
  /** The YAML file; defaults to `CONFIG_FILE`, then the bundled `config/default.yaml`. */
  readonly path?: string | undefined
  /** The environment to read overrides from; defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
}

const SECRET_KEYS = new Set([
  "database.url",
  "database.password",
  "database.migrations.url",
  "database.permissionCache.listenUrl"
])

const describeSource = (raw: RawConfig, path: ReadonlyArray<PropertyKey>): string => {
  const source = sourceOf(raw, path)
  return source._tag === "Env" ? source.name : source.path
}

const describeValue = (raw: RawConfig, path: ReadonlyArray<PropertyKey>): string => {
  if (path.some((_, index) => SECRET_KEYS.has(path.slice(0, index + 1).join(".")))) return "<redacted>"
  return describeRefusedValue(valueAt(raw.values, path))
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** One line per problem: key, what was expected, what was given (described, never repeated) and where it came from. */
const explainSchemaError = (raw: RawConfig, error: Schema.SchemaError): string =>
  formatter(error.issue)
    .issues.map(({ message, path: rawPath }) => {
      const path = (rawPath ?? []).map((segment) =>
        typeof segment === "object" && segment !== null && "key" in segment ? segment.key : segment
      )
      const key = path.map(String).join(".")
      const from = describeSource(raw, path)
      if (message.startsWith("Missing key")) return `${key}: missing (from ${from})`
      // The formatter says "Expected no excess property" (or "Unexpected key with value ..."): never echo the value.
      if (message.startsWith("Unexpected key") || message.startsWith("Expected no excess property")) {
        return `${key}: unknown key (from ${from})`
      }
      // The formatter's own message may quote the value, so it is never used.
      const expected = expectationAt(path) ?? "a valid value"
      return `${key}: expected ${expected}, got ${describeValue(raw, path)} (from ${from})`
    })
    .join("\n")

const checkCrossFieldRules = (raw: RawConfig, config: AppConfigValues, ownFile: boolean): Option.Option<string> => {
  const { pool } = config.database
  if (pool.minConnections > pool.maxConnections) {
    const path = ["database", "pool", "minConnections"]
    return Option.some(
      `database.pool.minConnections: expected at most database.pool.maxConnections, got a larger number (from ${describeSource(raw, path)})`
    )
  }
  const service = config.database.migrations.service
  if (service.directory !== "") {
    const tablePath = ["database", "migrations", "service", "table"]
    if (service.table === "") {
      return Option.some(
        `database.migrations.service.table: required when database.migrations.service.directory is set (from ${describeSource(raw, ["database", "migrations", "service", "directory"])})`
      )
    }
    if (service.table === config.database.migrations.table) {
      return Option.some(
        `database.migrations.service.table: expected a table other than the kernel's database.migrations.table, got the same name (from ${describeSource(raw, tablePath)})`
      )
    }
  }
  if (config.database.pgbouncer && config.database.prepare && isExplicit(raw, PREPARE_PATH, ownFile)) {
    return Option.some(
      `database.prepare: expected false with database.pgbouncer true (PgBouncer in transaction mode cannot keep named prepared statements), got true (from ${describeSource(raw, PREPARE_PATH)})`
    )
  }
  // What the driver would reject only when connecting (a bad escape, an unknown sslmode) is reported now, once,
  // instead of as a connection failure.
  const endpoint = databaseEndpointOf(config.database)
  if (Result.isFailure(endpoint)) {
    const { key, problem } = endpoint.failure
    return Option.some(`${key.join(".")}: ${problem} (from ${describeSource(raw, key)})`)
  }
  // The other URLs are read as database.url is, with its TLS settings as defaults.
  const otherUrls = [
    [MIGRATIONS_URL_PATH, config.database.migrations.url],
    [LISTEN_URL_PATH, config.database.permissionCache.listenUrl]
  ] as const
  for (const [path, url] of otherUrls) {
    if (Redacted.value(url) === "") continue
    const otherEndpoint = databaseEndpointOf({ ...config.database, url })
    if (Result.isFailure(otherEndpoint)) {
      const { key, problem } = otherEndpoint.failure
      const at = key.join(".") === "database.url" ? path : key
      return Option.some(`${at.join(".")}: ${problem} (from ${describeSource(raw, at)})`)
    }
  }
  return checkReplicas(raw, config)
}

const REPLICAS_URL_PATH = ["database", "replicas", "url"]
const READ_FROM_PATH = ["database", "readFrom"]

/** `database.replicas` read as the replica pool will read it; `readFrom: replicas` needs replicas. */
const checkReplicas = (raw: RawConfig, config: AppConfigValues): Option.Option<string> => {
  const { replicas, readFrom } = config.database
  const named = Redacted.value(replicas.url) !== "" || replicas.host !== ""
  if (readFrom === "replicas" && !named) {
    return Option.some(
      `database.readFrom: replicas needs database.replicas.url or database.replicas.host (from ${describeSource(raw, READ_FROM_PATH)})`
    )
  }
  if (!named) return Option.none()
  const replicaEndpoint = databaseEndpointOf({
    ...config.database,
    url: Redacted.value(replicas.url) !== "" ? replicas.url : Redacted.make(""),
    host: replicas.host === "" ? "localhost" : replicas.host,
    port: replicas.port
  })
  if (Result.isFailure(replicaEndpoint)) {
    const { key, problem } = replicaEndpoint.failure
    const at = key[0] === "database" && key.length === 2 ? ["database", "replicas", key[1]!] : REPLICAS_URL_PATH
    return Option.some(`${at.join(".")}: ${problem} (from ${describeSource(raw, at)})`)
  }
  return Option.none()
}

/**
 * The standard OpenTelemetry variables stand in for `telemetry.otlp.endpoint` and `telemetry.serviceName`
 * where the operator did not set those (by `TELEMETRY_...` or in a file of their own), so a deployment that
 * already sets them for its other services needs nothing else.
 */
const withOtelEnvironment = (
  raw: RawConfig,
  telemetry: AppConfigValues["telemetry"],
  env: Readonly<Record<string, string | undefined>>,
  ownFile: boolean
): Result.Result<AppConfigValues["telemetry"], string> => {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()
  const serviceName = env.OTEL_SERVICE_NAME?.trim()
  const useEndpoint = endpoint !== undefined && endpoint !== "" && !isExplicit(raw, OTLP_ENDPOINT_PATH, ownFile)
  if (useEndpoint && !/^https?:\/\/\S+$/.test(endpoint)) {
    return Result.fail(
      `telemetry.otlp.endpoint: expected an http(s):// URL of an OTLP/HTTP collector, got ${describeRefusedValue(endpoint)} (from OTEL_EXPORTER_OTLP_ENDPOINT)`
    )
  }
  const useServiceName = serviceName !== undefined && serviceName !== "" && !isExplicit(raw, SERVICE_NAME_PATH, ownFile)
  return Result.succeed({
    ...telemetry,
    serviceName: useServiceName ? serviceName : telemetry.serviceName,
    otlp: { ...telemetry.otlp, endpoint: useEndpoint ? endpoint : telemetry.otlp.endpoint }
  })
}

/**
 * Why `path` could not be read as configuration. For a syntax error, only where the parser gave up and its
 * error code: its message quotes the text around that place, which can be a value.
 */
const yamlProblem = (path: string, cause: unknown): string => {
  const { code, linePos, message } = (Predicate.isObject(cause) ? cause : {}) as {
    code?: unknown
    linePos?: ReadonlyArray<{ line: number; col: number }>
    message?: unknown
  }
  if (typeof code !== "string") return typeof message === "string" ? message : `${path}: not valid YAML`
  const at = linePos?.[0] !== undefined ? ` at line ${linePos[0].line}, column ${linePos[0].col}` : ""
  return `${path}: not valid YAML: ${code}${at}`
}

const OTLP_ENDPOINT_PATH = ["telemetry", "otlp", "endpoint"]
const SERVICE_NAME_PATH = ["telemetry", "serviceName"]
const PREPARE_PATH = ["database", "prepare"]
const MIGRATIONS_URL_PATH = ["database", "migrations", "url"]
const LISTEN_URL_PATH = ["database", "permissionCache", "listenUrl"]

/** Whether the operator set `path` (in the environment, or in a file of their own), rather than the default. */
const isExplicit = (raw: RawConfig, path: ReadonlyArray<string>, ownFile: boolean): boolean =>
  raw.envSources.has(path.join(".")) || (ownFile && raw.file.keys.has(path.join(".")))

/** Reads the YAML file, overlays the environment and decodes the result into typed values. */
export const loadAppConfig = Effect.fn("loadAppConfig")(function* (options: LoadOptions = {}) {
  const fs = yield* FileSystem.FileSystem
  const pathService = yield* Path.Path
  const env = options.env ?? process.env
  const filePath = options.path ?? env.CONFIG_FILE ?? bundledConfigFile()
  const readYaml = (path: string) =>
    fs.readFileString(path).pipe(
      Effect.mapError(
        (cause) => new ConfigLoadError({ message: `cannot read the configuration file ${path}: ${cause.message}` })
      ),
      Effect.flatMap((text) =>
        Effect.try({
          try: () => parseYamlDocument(text, path),
          catch: (cause) => new ConfigLoadError({ message: yamlProblem(path, cause) })
        })
      )
    )
  // Another file only needs the keys it changes: it is laid over the bundled defaults.
  const defaults = yield* readYaml(bundledConfigFile())
  const ownFile = pathService.resolve(filePath) !== pathService.resolve(bundledConfigFile())
  const fileValues = !ownFile
    ? { values: defaults, keys: leafPaths(defaults) }
    : yield* Effect.map(readYaml(filePath), (own) => ({ values: mergeOver(defaults, own), keys: leafPaths(own) }))
  const raw = overlayEnv(fileValues.values, env, {
    path: filePath,
    keys: fileValues.keys,
    defaultsPath: bundledConfigFile()
  })
  const decoded = yield* Schema.decodeUnknownEffect(AppConfigSchema)(raw.values, {
    errors: "all",
    onExcessProperty: "error"
  }).pipe(Effect.mapError((error) => new ConfigLoadError({ message: explainSchemaError(raw, error) })))
  const crossFieldProblem = checkCrossFieldRules(raw, decoded, ownFile)
  if (Option.isSome(crossFieldProblem)) {
    return yield* new ConfigLoadError({ message: crossFieldProblem.value })
  }
  const telemetry = withOtelEnvironment(raw, decoded.telemetry, env, ownFile)
  if (Result.isFailure(telemetry)) return yield* new ConfigLoadError({ message: telemetry.failure })
  const { migrations, embedded, sslRootCert, pgbouncer } = decoded.database
  // Relative directories are resolved once, here, so every later reader sees the same absolute path.
  return {
    ...decoded,
    telemetry: telemetry.success,
    database: {
      ...decoded.database,
      // Behind PgBouncer nothing is prepared; an explicit prepare: true was refused above.
      prepare: pgbouncer ? false : decoded.database.prepare,
      migrations: {
        ...migrations,
        directory:
          migrations.directory === "" ? bundledMigrationsDirectory() : pathService.resolve(migrations.directory),
        service: {
          ...migrations.service,
          directory: migrations.service.directory === "" ? "" : pathService.resolve(migrations.service.directory)
        }
      },
      embedded: { ...embedded, dataDir: pathService.resolve(embedded.dataDir) },
      sslRootCert: sslRootCert === "" || sslRootCert === "system" ? sslRootCert : pathService.resolve(sslRootCert)
    }
  } satisfies AppConfigValues
})

/** The typed configuration of platform-kernel. */
export class AppConfig extends Context.Service<AppConfig, AppConfigValues>()("platform-kernel/Config/AppConfig") {
  /** Loads `config/default.yaml` (or `CONFIG_FILE`), with environment overrides. */
  static readonly layer = (options: LoadOptions = {}): Layer.Layer<AppConfig, ConfigLoadError> =>
    Layer.effect(AppConfig, loadAppConfig(options)).pipe(Layer.provide(NodeFiles.layer))

  /** Configuration given as values, for tests and embedding applications. */
  static readonly layerFrom = (values: AppConfigValues): Layer.Layer<AppConfig> => Layer.succeed(AppConfig, values)
}
