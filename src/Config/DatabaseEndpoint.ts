import { Redacted, Result } from "effect"
import { describeRefusedValue } from "./ConfigError.ts"
import { type DatabaseConfigValues, type SslMode, SslModes } from "./ConfigSchema.ts"

/**
 * The server the configuration points at and how to secure the connection: `database.url` when set, else
 * `database.host`, `port` and `name`, with `database.ssl` and `database.sslRootCert` unless the URL's
 * `sslmode`/`sslrootcert` say otherwise. Read the way `@effect/sql-pg` reads a URL (libpq's URI form), so
 * what is checked here is what the driver will use.
 */
export interface DatabaseEndpoint {
  /** Host name, IP address, or (starting with `/`) a Unix socket directory. */
  readonly host: string
  readonly port: number
  readonly database: string
  readonly sslMode: SslMode
  /** A PEM file of CA certificates, `"system"` (the default trust store), or none given. */
  readonly sslRootCert: string | undefined
  /** The key that named `sslRootCert`, for errors about it. */
  readonly sslRootCertKey: string
}

/** A configuration the driver could not use: the key at fault and what is wrong, never the value. */
export interface EndpointProblem {
  readonly key: ReadonlyArray<string>
  readonly problem: string
}

const URL_KEY = ["database", "url"]

const isSslMode = (value: string): value is SslMode => (SslModes as ReadonlyArray<string>).includes(value)

const unknownSslMode = (value: string) =>
  `unknown sslmode, got ${describeRefusedValue(value)} (expected one of ${SslModes.join(", ")})`

const decoded = (value: string, what: string): Result.Result<string, EndpointProblem> => {
  try {
    return Result.succeed(decodeURIComponent(value))
  } catch {
    return Result.fail({ key: URL_KEY, problem: `malformed percent-encoding in the ${what}` })
  }
}

const validPort = (value: string, what: string): Result.Result<number, EndpointProblem> => {
  const port = Number(value)
  return Number.isInteger(port) && port >= 1 && port <= 65535
    ? Result.succeed(port)
    : Result.fail({ key: URL_KEY, problem: `the ${what} is not a port number (1-65535)` })
}

interface UrlParts {
  host?: string
  port?: number
  database?: string
  user?: string
  sslMode?: SslMode
  sslRootCert?: string
}

const parseUrl = (raw: string): Result.Result<UrlParts, EndpointProblem> =>
  Result.gen(function* () {
    const notPostgres = { key: URL_KEY, problem: "expected a postgres:// or postgresql:// URL, got <redacted>" }
    if (!/^postgres(ql)?:\/\//.test(raw) || !URL.canParse(raw)) return yield* Result.fail(notPostgres)
    const url = new URL(raw)
    const parts: UrlParts = {}
    if (url.hostname !== "") {
      parts.host =
        url.hostname.startsWith("[") && url.hostname.endsWith("]")
          ? url.hostname.slice(1, -1)
          : yield* decoded(url.hostname, "host")
    }
    if (url.port !== "") parts.port = yield* validPort(url.port, "port")
    if (url.username !== "") parts.user = yield* decoded(url.username, "user name")
    if (url.password !== "") yield* decoded(url.password, "password")
    const database = yield* decoded(url.pathname.replace(/^\//, ""), "database name")
    if (database !== "") parts.database = database
    for (const [name, value] of url.searchParams) {
      switch (name) {
        case "host":
          parts.host = value
          break
        case "port":
          parts.port = yield* validPort(value, "port parameter")
          break
        case "user":
          parts.user = value
          break
        case "dbname":
          parts.database = value
          break
        case "connect_timeout":
          if (!/^\d+$/.test(value)) {
            return yield* Result.fail({ key: URL_KEY, problem: "connect_timeout is not a whole number of seconds" })
          }
          break
        case "sslmode":
          if (!isSslMode(value)) return yield* Result.fail({ key: URL_KEY, problem: unknownSslMode(value) })
          parts.sslMode = value
          break
        case "sslrootcert":
          parts.sslRootCert = value
          break
        // Silently dropping them would leave a connection without the identity its operator asked for.
        case "sslcert":
        case "sslkey":
          return yield* Result.fail({ key: URL_KEY, problem: `${name} is not supported (no client certificates)` })
      }
    }
    return parts
  })

/** Where `database` points, or the first thing in it the driver could not use. */
export const databaseEndpointOf = (database: DatabaseConfigValues): Result.Result<DatabaseEndpoint, EndpointProblem> =>
  Result.gen(function* () {
    const url = Redacted.value(database.url)
    const parts: UrlParts = url === "" ? {} : yield* parseUrl(url)
    const fromUrl = url !== ""
    const sslRootCert = parts.sslRootCert ?? (database.sslRootCert === "" ? undefined : database.sslRootCert)
    const endpoint: DatabaseEndpoint = {
      host: fromUrl ? (parts.host ?? "localhost") : database.host,
      port: fromUrl ? (parts.port ?? 5432) : database.port,
      database: fromUrl ? (parts.database ?? parts.user ?? "postgres") : database.name,
      sslMode: parts.sslMode ?? database.ssl,
      sslRootCert,
      sslRootCertKey: parts.sslRootCert !== undefined ? "database.url (sslrootcert)" : "database.sslRootCert"
    }
    // libpq refuses this pair too: the system store trusts every public CA, so only a host name check binds
    // the certificate to this server.
    if (sslRootCert === "system" && endpoint.sslMode !== "verify-full") {
      return yield* Result.fail({
        key: parts.sslRootCert !== undefined ? URL_KEY : ["database", "sslRootCert"],
        problem: `sslrootcert "system" needs sslmode verify-full, got ${endpoint.sslMode}`
      })
    }
    return endpoint
  })
