import * as Net from "node:net"
import type { Duplex } from "node:stream"
import { PgConnection } from "@effect/sql-pg"
import { Duration, Effect } from "effect"
import type { DatabaseEndpoint } from "../../Config/DatabaseEndpoint.ts"
import type { HostAddress } from "../../Config/HostList.ts"
import { connectPreferringTls } from "../Client/PreferTlsSocket.ts"
import { tlsSettingsFor } from "../Client/TlsSettings.ts"
import type { HostRole } from "./HostResolver.ts"

/**
 * A socket to one of the endpoint's hosts, secured as its `sslmode` says (the same rules as a one-host client:
 * see `TlsSettings`). TLS is negotiated here, not by the driver, because the driver would check the
 * certificate against the first host's name whatever host the socket reached.
 */
export const hostConnector =
  (endpoint: DatabaseEndpoint, ca: string | undefined, keepAliveMs: number) =>
  (address: HostAddress): Duplex => {
    const { host, port } = address
    if (host.startsWith("/")) return Net.connect({ path: `${host}/.s.PGSQL.${port}` })
    const tls = tlsSettingsFor({ ...endpoint, host, port }, ca, { keepAliveMs })
    if (tls.stream !== undefined) return tls.stream()
    if (tls.ssl === false || tls.ssl === undefined) {
      return Net.connect({ host, port, noDelay: true, keepAlive: true, keepAliveInitialDelay: keepAliveMs })
    }
    return connectPreferringTls({
      host,
      port,
      tls: tls.ssl === true ? {} : tls.ssl,
      keepAliveMs,
      required: true
    })
  }

const ROLE_QUERY = `SELECT pg_is_in_recovery() AS in_recovery,
  current_setting('transaction_read_only') = 'on' AS read_only,
  (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS wal_position,
  extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS replay_delay`

/**
 * Asks one host what it is, on a session of its own (named `<applicationName>-topology`) that is closed at
 * once: `pg_is_in_recovery()` and `transaction_read_only`, as libpq asks, plus its WAL position for the lag.
 */
export const hostProber =
  (
    connection: Omit<PgConnection.Config, "stream" | "host" | "port">,
    connect: (address: HostAddress) => Duplex,
    timeout: Duration.Duration
  ) =>
  (address: HostAddress): Promise<HostRole> =>
    Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const session = yield* PgConnection.make({
            ...connection,
            host: address.host,
            port: address.port,
            ssl: false,
            stream: () => connect(address),
            connectTimeout: timeout,
            multiplex: false,
            prepare: false
          })
          const result = yield* session.query(ROLE_QUERY, [], false)
          const row = result.rows[0] as
            | {
                readonly in_recovery: boolean
                readonly read_only: boolean
                readonly wal_position: string | null
                readonly replay_delay: number | null
              }
            | undefined
          if (row === undefined) return yield* Effect.die(new Error("the role query returned no row"))
          return {
            inRecovery: row.in_recovery,
            readOnly: row.read_only,
            walPosition: row.wal_position ?? undefined,
            replayDelaySeconds: row.in_recovery && row.replay_delay !== null ? Math.max(0, row.replay_delay) : undefined
          } satisfies HostRole
        })
      ).pipe(
        Effect.timeoutOrElse({
          duration: Duration.sum(timeout, Duration.seconds(1)),
          orElse: () => Effect.fail(new Error(`no answer within ${Duration.format(timeout)}`))
        }),
        Effect.mapError((error) => new Error(error instanceof Error ? error.message : String(error)))
      )
    )
