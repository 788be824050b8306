import { Context, Effect, Layer } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { SqlClient } from "effect/sql"
import { AppConfig } from "../../Config/AppConfig.ts"
import type { ConfigLoadError } from "../../Config/ConfigError.ts"
import * as BoundedPgClient from "../Client/BoundedPgClient.ts"
import { clientSettings } from "../Client/DatabaseClient.ts"
import { DatabaseStartupError } from "../Client/DatabaseErrors.ts"
import { DatabaseTarget } from "../Client/DatabaseTarget.ts"
import { describeSqlError } from "../Client/SqlFailure.ts"

/**
 * Where the lag-tolerant reads go (`findById`, `findByEmail`, lists, streams, audit pages): the replicas'
 * pool when `database.readFrom` is `replicas`, else the primary's client itself. A replica read waits for the
 * reader's written position (`ReadYourWrites`, bounded by `database.readYourWrites.timeout`) or runs on the
 * primary; a transaction, and every statement in one, runs on the primary.
 */
export class ReadReplicas extends Context.Service<
  ReadReplicas,
  {
    /** The client for lag-tolerant reads. */
    readonly sql: SqlClient.SqlClient
    /** The replicas' target (their hosts and what each was at the last check); none when reads use the primary. */
    readonly target: DatabaseTarget["Service"] | undefined
    /** The pool's name in metrics and in `pg_stat_activity` (`<database.applicationName>-replica`). */
    readonly poolName: string | undefined
    /** How replica reads were served so far: by a replica, or by the primary. */
    readonly served: BoundedPgClient.ReplicaReads
  }
>()("platform-kernel/Database/ReadReplicas") {
  /** As `database.replicas` and `database.readFrom` say; needs the primary's `SqlClient`. */
  static readonly layer: Layer.Layer<
    ReadReplicas,
    ConfigLoadError | DatabaseStartupError,
    AppConfig | SqlClient.SqlClient
  > = Layer.effect(
    ReadReplicas,
    Effect.gen(function* () {
      const { database } = yield* AppConfig
      const primary = yield* SqlClient.SqlClient
      const served: BoundedPgClient.ReplicaReads = { replica: 0, primary: 0 }
      const target = database.readFrom === "replicas" ? yield* DatabaseTarget.replicasFromConfig(database) : undefined
      if (target === undefined) return ReadReplicas.of({ sql: primary, target: undefined, poolName: undefined, served })
      const poolName = `${database.applicationName}-replica`
      const settings = clientSettings({ ...database, applicationName: poolName }, target)
      // Not awaited: a replica that is down is not a service that cannot start (its reads go to the primary).
      const sql = yield* BoundedPgClient.make(settings.options, {
        ...settings.bounds,
        poolName,
        replicaOf: { primary, timeout: database.readYourWrites.timeout, served }
      }).pipe(
        Effect.provide(Reactivity.layer),
        Effect.mapError(
          (error) =>
            new DatabaseStartupError({
              host: target.host,
              port: target.port,
              database: target.database,
              reason: `replica pool: ${describeSqlError(error)}`
            })
        )
      )
      return ReadReplicas.of({ sql, target, poolName, served })
    })
  )

  /** Reads on the primary's client: what a layer without replicas gets. */
  static readonly layerPrimary: Layer.Layer<ReadReplicas, never, SqlClient.SqlClient> = Layer.effect(
    ReadReplicas,
    Effect.map(Effect.service(SqlClient.SqlClient), (sql) =>
      ReadReplicas.of({ sql, target: undefined, poolName: undefined, served: { replica: 0, primary: 0 } })
    )
  )
}
