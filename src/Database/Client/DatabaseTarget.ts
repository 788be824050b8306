import { readFile } from "node:fs/promises"
import type { PgClientConfig } from "@effect/sql-pg/PgClient"
import { Context, Duration, Effect, Layer, Redacted, Result } from "effect"
import { AppConfig } from "../../Config/AppConfig.ts"
import { ConfigLoadError } from "../../Config/ConfigError.ts"
import type { DatabaseConfigValues } from "../../Config/ConfigSchema.ts"
import { databaseEndpointOf } from "../../Config/DatabaseEndpoint.ts"
import { splitAuthority } from "../../Config/HostList.ts"
import { type EmbeddedMode, embeddedPostgres } from "../Embedded/EmbeddedPostgres.ts"
import { hostConnector, hostProber } from "../Topology/HostConnections.ts"
import { HostResolver } from "../Topology/HostResolver.ts"
import type { EmbeddedPostgresError } from "./DatabaseErrors.ts"
import { tlsSettingsFor } from "./TlsSettings.ts"

/**
 * Where the client connects: the configured server, or the embedded one. Kept apart from the client so
 * the embedded server's lifetime can wrap the pool's (the pool closes first, then the server stops).
 */
export class DatabaseTarget extends Context.Service<
  DatabaseTarget,
  {
    readonly connection: Pick<
      PgClientConfig,
      "url" | "host" | "port" | "database" | "username" | "password" | "ssl" | "stream"
    >
    /** host, port and database, for logs and errors: never the password. */
    readonly host: string
    readonly port: number
    readonly database: string
    readonly embedded: boolean
    /**
     * Several hosts, or `target_session_attrs` given: chooses the host of each new connection (the driver's
     * `stream` is its socket). Absent for one host used as it is.
     */
    readonly resolver?: HostResolver | undefined
  }
>()("platform-kernel/Database/DatabaseTarget") {
  /**
   * The server named by `database.url` or `database.host`, with TLS as `sslmode` means in libpq. Fails when
   * the configuration cannot be used (it is checked when loaded; values given directly are checked here) or
   * the root certificate file cannot be read.
   */
  static readonly fromConfig = (
    database: DatabaseConfigValues
  ): Effect.Effect<DatabaseTarget["Service"], ConfigLoadError> =>
    Effect.gen(function* () {
      const checked = databaseEndpointOf(database)
      if (Result.isFailure(checked)) {
        const { key, problem } = checked.failure
        return yield* new ConfigLoadError({ message: `${key.join(".")}: ${problem}` })
      }
      const endpoint = checked.success
      const rootCert = endpoint.sslRootCert
      const ca =
        rootCert === undefined || rootCert === "system"
          ? undefined
          : yield* readRootCertificate(rootCert, endpoint.sslRootCertKey)
      const url = Redacted.value(database.url)
      const password = Redacted.value(database.password)
      const credentials = {
        database: database.name,
        username: database.user,
        ...(password === "" ? {} : { password: database.password })
      }
      const attrs = endpoint.targetSessionAttrs
      if (attrs !== undefined) {
        // The driver reads one host: it gets the URL around the first, and a socket to the host chosen.
        const split = url === "" ? undefined : splitAuthority(url)
        const base =
          split === undefined
            ? { host: endpoint.host, port: endpoint.port, ...credentials }
            : { url: Redacted.make(Result.isSuccess(split) ? split.success.firstHostUrl : url) }
        const connect = hostConnector(endpoint, ca, Duration.toMillis(database.keepAlive))
        const resolver = new HostResolver({
          hosts: endpoint.hosts,
          targetSessionAttrs: attrs,
          loadBalanceHosts: endpoint.loadBalanceHosts,
          connect,
          probe: hostProber(
            { ...base, applicationName: `${database.applicationName}-topology` },
            connect,
            database.connectTimeout
          )
        })
        return DatabaseTarget.of({
          connection: { ...base, ssl: false, stream: resolver.socket },
          host: endpoint.host,
          port: endpoint.port,
          database: endpoint.database,
          embedded: false,
          resolver
        })
      }
      const tls = tlsSettingsFor(endpoint, ca, { keepAliveMs: Duration.toMillis(database.keepAlive) })
      return DatabaseTarget.of({
        connection:
          url !== ""
            ? { url: database.url, ...tls }
            : { host: endpoint.host, port: endpoint.port, ...credentials, ...tls },
        host: endpoint.host,
        port: endpoint.port,
        database: endpoint.database,
        embedded: false
      })
    })

  /**
   * The read replicas `database.replicas` names (a URL, or hosts with the primary's credentials, database and
   * TLS), chosen by `database.replicas.targetSessionAttrs`; undefined when none are named.
   */
  static readonly replicasFromConfig = (
    database: DatabaseConfigValues
  ): Effect.Effect<DatabaseTarget["Service"] | undefined, ConfigLoadError> => {
    const replicas = database.replicas
    const replicaUrl = Redacted.value(replicas.url)
    if (replicaUrl === "" && replicas.host === "") return Effect.succeed(undefined)
    const primaryUrl = Redacted.value(database.url)
    // Hosts beside a primary URL: the primary's URL (its credentials and parameters) around the replicas' hosts.
    const url =
      replicaUrl !== ""
        ? replicas.url
        : primaryUrl !== ""
          ? Redacted.make(withHosts(primaryUrl, replicas.host, replicas.port))
          : Redacted.make("")
    return DatabaseTarget.fromConfig({
      ...database,
      url,
      host: replicas.host,
      port: replicas.port,
      targetSessionAttrs: replicas.targetSessionAttrs === "" ? "prefer-standby" : replicas.targetSessionAttrs,
      loadBalanceHosts: replicas.loadBalanceHosts
    })
  }

  /** Whether the configuration names a server; when not, the embedded one is used. */
  static readonly isConfigured = (database: DatabaseConfigValues): boolean =>
    Redacted.value(database.url) !== "" || database.host !== ""

  /**
   * The one target selector: the server `database.url`/`database.host` names, else the embedded one, started,
   * attached to or either, as `embedded` says (see `EmbeddedMode`). An embedded server started here stops when
   * the layer is released, after the pool that uses it has closed.
   */
  static readonly layer = (options: {
    readonly embedded: EmbeddedMode
  }): Layer.Layer<DatabaseTarget, ConfigLoadError | EmbeddedPostgresError, AppConfig> =>
    Layer.effect(
      DatabaseTarget,
      Effect.gen(function* () {
        const { database } = yield* AppConfig
        if (DatabaseTarget.isConfigured(database)) return yield* DatabaseTarget.fromConfig(database)
        const server = yield* embeddedPostgres(options.embedded, database.embedded)
        return DatabaseTarget.of({
          connection: { url: server.url },
          host: "127.0.0.1",
          port: server.port,
          database: "postgres",
          embedded: true
        })
      })
    )
}

/** `url` with its hosts replaced by `hosts`/`ports` (lists as libpq's), its other parts kept. */
const withHosts = (url: string, hosts: string, ports: string | number): string => {
  const hostList = hosts.split(",").map((host) => host.trim())
  const portList = String(ports)
    .split(",")
    .map((port) => port.trim())
  const authority = hostList
    .map((host, index) => `${host.includes(":") ? `[${host}]` : host}:${portList[portList.length === 1 ? 0 : index]}`)
    .join(",")
  // The primary's choice of host is not the replicas': their own settings apply.
  return url
    .replace(
      /^(postgres(?:ql)?:\/\/)((?:[^/?#]*@)?)[^/?#]*/s,
      (_, scheme, userInfo) => `${scheme}${userInfo}${authority}`
    )
    .replace(/([?&])(?:target_session_attrs|load_balance_hosts)=[^&#]*&?/g, "$1")
    .replace(/[?&]$/, "")
}

const readRootCertificate = (path: string, key: string) =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (cause) => {
      // Neither the path nor Node's message (which quotes it): the value may be a secret under the wrong key.
      const { code } = cause as NodeJS.ErrnoException
      return new ConfigLoadError({ message: `${key}: cannot read the root certificate file (${code ?? "unreadable"})` })
    }
  })
