import { Redacted, Result } from "effect"
import { describeRefusedValue } from "./ConfigError.ts"
import { type DatabaseConfigValues, type SslMode, SslModes } from "./ConfigSchema.ts"
import {
  addressesOf,
  type HostAddress,
  isLoadBalanceHosts,
  isTargetSessionAttrs,
  type LoadBalanceHosts,
  LoadBalanceHostsValues,
  pairHostsAndPorts,
  splitAuthority,
  type TargetSessionAttrs,
  TargetSessionAttrsValues
} from "./HostList.ts"

/**
 * The server the configuration points at and how to secure the connection: `database.url` when set, else
 * `database.host`, `port` and `name`, with `database.ssl` and `database.sslRootCert` unless the URL's
 * `sslmode`/`sslrootcert` say otherwise. Read the way `@effect/sql-pg` reads a URL (libpq's URI form), so
 * what is checked here is what the driver will use.
 */
export interface DatabaseEndpoint {
  /** Host name, IP address, or (starting with `/`) a Unix socket directory: the first of `hosts`. */
  readonly host: string
  readonly port: number
  /** Every host named, in the order given (one for a one-host configuration). */
  readonly hosts: ReadonlyArray<HostAddress>
  /**
   * Which host a session may be opened on (libpq's `target_session_attrs`): the URL's, else
   * `database.targetSessionAttrs`, else `read-write` when several hosts are named; undefined for one host
   * named without it (then the host is used as it is, unchecked).
   */
  readonly targetSessionAttrs: TargetSessionAttrs | undefined
  /** libpq's `load_balance_hosts`: the URL's, else `database.loadBalanceHosts`. */
  readonly loadBalanceHosts: LoadBalanceHosts
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

interface UrlParts {
  hosts?: ReadonlyArray<HostAddress>
  hostParam?: string
  portParam?: string
  targetSessionAttrs?: TargetSessionAttrs
  loadBalanceHosts?: LoadBalanceHosts
  database?: string
  user?: string
  sslMode?: SslMode
  sslRootCert?: string
}

const parseUrl = (raw: string): Result.Result<UrlParts, EndpointProblem> =>
  Result.gen(function* () {
    const notPostgres = { key: URL_KEY, problem: "expected a postgres:// or postgresql:// URL, got <redacted>" }
    if (!/^postgres(ql)?:\/\//.test(raw)) return yield* Result.fail(notPostgres)
    // Several hosts in the authority (libpq's multi-host URL): the URL parser reads the URL around its first.
    const split = splitAuthority(raw)
    if (Result.isFailure(split)) return yield* Result.fail({ key: URL_KEY, problem: split.failure })
    if (!URL.canParse(split.success.firstHostUrl)) return yield* Result.fail(notPostgres)
    const url = new URL(split.success.firstHostUrl)
    const parts: UrlParts = {}
    const hosts = addressesOf(split.success)
    if (Result.isFailure(hosts)) return yield* Result.fail({ key: URL_KEY, problem: hosts.failure })
    if (hosts.success.length > 0) parts.hosts = hosts.success
    if (url.username !== "") parts.user = yield* decoded(url.username, "user name")
    if (url.password !== "") yield* decoded(url.password, "password")
    const database = yield* decoded(url.pathname.replace(/^\//, ""), "database name")
    if (database !== "") parts.database = database
    for (const [name, value] of url.searchParams) {
      switch (name) {
        case "host":
          parts.hostParam = value
          break
        case "port":
          parts.portParam = value
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
        case "target_session_attrs":
          if (!isTargetSessionAttrs(value)) {
            return yield* Result.fail({
              key: URL_KEY,
              problem: `unknown target_session_attrs (expected one of ${TargetSessionAttrsValues.join(", ")})`
            })
          }
          parts.targetSessionAttrs = value
          break
        case "load_balance_hosts":
          if (!isLoadBalanceHosts(value)) {
            return yield* Result.fail({
              key: URL_KEY,
              problem: `unknown load_balance_hosts (expected one of ${LoadBalanceHostsValues.join(", ")})`
            })
          }
          parts.loadBalanceHosts = value
          break
        // Silently dropping them would leave a connection without the identity its operator asked for.
        case "sslcert":
        case "sslkey":
          return yield* Result.fail({ key: URL_KEY, problem: `${name} is not supported (no client certificates)` })
      }
    }
    // `host=`/`port=` parameters win over the authority, as in libpq; each may be a list.
    if (parts.hostParam !== undefined || parts.portParam !== undefined) {
      const authority = parts.hosts ?? [{ host: "localhost", port: 5432 }]
      const paired = pairHostsAndPorts(
        parts.hostParam ?? authority.map((address) => address.host).join(","),
        parts.portParam ??
          (parts.hostParam === undefined || authority.length === 1 ? authority.map((a) => a.port).join(",") : "5432"),
        { hosts: "host parameter", ports: "port parameter" }
      )
      if (Result.isFailure(paired)) return yield* Result.fail({ key: URL_KEY, problem: paired.failure })
      parts.hosts = paired.success
    }
    return parts
  })

/** `database.host`/`database.port` as lists (libpq's `host=h1,h2 port=5432,5433`). */
const configuredHosts = (
  database: DatabaseConfigValues
): Result.Result<ReadonlyArray<HostAddress>, EndpointProblem> => {
  const paired = pairHostsAndPorts(database.host, database.port, { hosts: "database.host", ports: "database.port" })
  return Result.isFailure(paired)
    ? Result.fail({ key: ["database", String(database.port).includes(",") ? "port" : "host"], problem: paired.failure })
    : Result.succeed(paired.success)
}

/** Where `database` points, or the first thing in it the driver could not use. */
export const databaseEndpointOf = (database: DatabaseConfigValues): Result.Result<DatabaseEndpoint, EndpointProblem> =>
  Result.gen(function* () {
    const url = Redacted.value(database.url)
    const parts: UrlParts = url === "" ? {} : yield* parseUrl(url)
    const fromUrl = url !== ""
    const sslRootCert = parts.sslRootCert ?? (database.sslRootCert === "" ? undefined : database.sslRootCert)
    const hosts = fromUrl
      ? (parts.hosts ?? [{ host: "localhost", port: 5432 }])
      : database.host === ""
        ? [{ host: "", port: typeof database.port === "number" ? database.port : 5432 }]
        : yield* configuredHosts(database)
    const configuredAttrs = database.targetSessionAttrs === "" ? undefined : database.targetSessionAttrs
    const endpoint: DatabaseEndpoint = {
      host: hosts[0]!.host,
      port: hosts[0]!.port,
      hosts,
      targetSessionAttrs: parts.targetSessionAttrs ?? configuredAttrs ?? (hosts.length > 1 ? "read-write" : undefined),
      loadBalanceHosts: parts.loadBalanceHosts ?? database.loadBalanceHosts,
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
