import { readFile } from "node:fs/promises"
import type { PgClientConfig } from "@effect/sql-pg/PgClient"
import { Context, Duration, Effect, Layer, Redacted, Result } from "effect"
import { AppConfig } from "../../Config/AppConfig.ts"
import { ConfigLoadError } from "../../Config/ConfigError.ts"
import type { DatabaseConfigValues } from "../../Config/ConfigSchema.ts"
import { databaseEndpointOf } from "../../Config/DatabaseEndpoint.ts"
import { type EmbeddedMode, embeddedPostgres } from "../Embedded/EmbeddedPostgres.ts"
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
      const tls = tlsSettingsFor(endpoint, ca, { keepAliveMs: Duration.toMillis(database.keepAlive) })
      const url = Redacted.value(database.url)
      const password = Redacted.value(database.password)
      return DatabaseTarget.of({
        connection:
          url !== ""
            ? { url: database.url, ...tls }
            : {
                host: database.host,
                port: database.port,
                database: database.name,
                username: database.user,
                ...(password === "" ? {} : { password: database.password }),
                ...tls
              },
        host: endpoint.host,
        port: endpoint.port,
        database: endpoint.database,
        embedded: false
      })
    })

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

const readRootCertificate = (path: string, key: string) =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (cause) => {
      // Neither the path nor Node's message (which quotes it): the value may be a secret under the wrong key.
      const { code } = cause as NodeJS.ErrnoException
      return new ConfigLoadError({ message: `${key}: cannot read the root certificate file (${code ?? "unreadable"})` })
    }
  })
