import type { PgClientConfig } from "@effect/sql-pg/PgClient"
import type { DatabaseEndpoint } from "../../Config/DatabaseEndpoint.ts"
import { connectPreferringTls } from "./PreferTlsSocket.ts"

/** The driver options that secure a connection. */
export type TlsSettings = Pick<PgClientConfig, "ssl" | "stream">

// Chain verification stays on (Node's default); only the host name check is skipped.
const skipHostNameCheck = { checkServerIdentity: () => undefined }

/**
 * The `@effect/sql-pg` options that give `endpoint.sslMode` its libpq meaning. The driver's own reading of
 * `sslmode` differs (it verifies certificates under `prefer` and `require`), so an explicit `ssl` is always
 * passed, which the driver lets win over the URL's `sslmode`. `ca` is the content of the root certificate
 * file, when one is given; without it, verification uses Node's built-in CAs. `keepAliveMs` reaches the
 * sockets opened here for `prefer`; the driver sets keepalive on its own.
 */
export const tlsSettingsFor = (
  endpoint: DatabaseEndpoint,
  ca: string | undefined,
  options: { readonly keepAliveMs?: number | undefined } = {}
): TlsSettings => {
  const { host, port, sslMode } = endpoint
  // libpq never uses TLS on a Unix-domain socket, whatever the sslmode.
  if (host.startsWith("/")) return { ssl: false }
  const trusted = ca === undefined ? {} : { ca }
  // libpq checks the chain under allow, prefer and require exactly when a root certificate is given.
  const chainOnlyIfCa = ca === undefined ? { rejectUnauthorized: false } : { ...trusted, ...skipHostNameCheck }
  switch (sslMode) {
    case "disable":
      return { ssl: false }
    case "allow":
    case "prefer":
      return {
        ssl: false,
        stream: () => connectPreferringTls({ host, port, tls: chainOnlyIfCa, keepAliveMs: options.keepAliveMs })
      }
    case "require":
      return { ssl: chainOnlyIfCa }
    case "verify-ca":
      return { ssl: { ...trusted, ...skipHostNameCheck } }
    case "verify-full":
      return { ssl: trusted }
  }
}
