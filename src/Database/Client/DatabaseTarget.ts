import type { PgClientConfig } from "@effect/sql-pg/PgClient"
import { Context, Effect, Layer, Redacted } from "effect"
import { AppConfig } from "../../Config/AppConfig.ts"
import type { DatabaseConfigValues } from "../../Config/ConfigSchema.ts"
import { type EmbeddedMode, embeddedPostgres } from "../Embedded/EmbeddedPostgres.ts"
import type { EmbeddedPostgresError } from "./DatabaseErrors.ts"

/**
 * Where the client connects: the configured server, or the embedded one. Kept apart from the client so
 * the embedded server's lifetime can wrap the pool's (the pool closes first, then the server stops).
 */
export class DatabaseTarget extends Context.Service<
  DatabaseTarget,
  {
    readonly connection: Pick<PgClientConfig, "url" | "host" | "port" | "database" | "username" | "password" | "ssl">
    /** host, port and database, for logs and errors: never the password. */
    readonly host: string
    readonly port: number
    readonly database: string
    readonly embedded: boolean
  }
>()("platform-kernel/Database/DatabaseTarget") {
  /** The server named by `database.url` or `database.host`. */
  static readonly fromConfig = (database: DatabaseConfigValues): DatabaseTarget["Service"] => {
    const url = Redacted.value(database.url)
    if (url !== "") {
      const parsed = new URL(url)
      return DatabaseTarget.of({
        connection: { url: database.url, ssl: database.ssl || parsed.searchParams.get("sslmode") === "require" },
        host: parsed.hostname,
        port: parsed.port === "" ? 5432 : Number(parsed.port),
        database: decodeURIComponent(parsed.pathname.replace(/^\//, "")) || "postgres",
        embedded: false
      })
    }
    const password = Redacted.value(database.password)
    return DatabaseTarget.of({
      connection: {
        host: database.host,
        port: database.port,
        database: database.name,
        username: database.user,
        ...(password === "" ? {} : { password: database.password }),
        ssl: database.ssl
      },
      host: database.host,
      port: database.port,
      database: database.name,
      embedded: false
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
  }): Layer.Layer<DatabaseTarget, EmbeddedPostgresError, AppConfig> =>
    Layer.effect(
      DatabaseTarget,
      Effect.gen(function* () {
        const { database } = yield* AppConfig
        if (DatabaseTarget.isConfigured(database)) return DatabaseTarget.fromConfig(database)
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
