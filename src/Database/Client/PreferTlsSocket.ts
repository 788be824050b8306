import * as Net from "node:net"
import type { Duplex } from "node:stream"
import * as Tls from "node:tls"
import { DeferredDuplex } from "./DeferredDuplex.ts"

// The protocol's SSLRequest: length 8, then the code 80877103. The server answers one byte, "S" or "N".
const SSL_REQUEST = Buffer.from([0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f])
const TLS_ACCEPTED = 0x53

export interface PreferTlsOptions {
  readonly host: string
  readonly port: number
  /** Options of the TLS handshake (`rejectUnauthorized`, `ca`, `checkServerIdentity`). */
  readonly tls: Tls.ConnectionOptions
  /** TCP keepalive after this many idle milliseconds (the driver sets it only on the sockets it opens). */
  readonly keepAliveMs?: number | undefined
  /** TLS or nothing (libpq's require and verify modes): a server without TLS or a failed handshake is an error. */
  readonly required?: boolean | undefined
}

/**
 * A connection as libpq makes it for `sslmode=prefer`: it asks the server for TLS and goes on in plaintext
 * when the server has none, or when the TLS handshake fails (then on a new TCP connection, as libpq retries).
 * Given to `@effect/sql-pg` as its `stream`, with `ssl: false`, so the driver speaks the protocol over
 * whatever was negotiated: the driver's own `prefer` verifies the certificate, which libpq's does not.
 */
export const connectPreferringTls = (options: PreferTlsOptions): Duplex => new PreferTlsSocket(options)

class PreferTlsSocket extends DeferredDuplex {
  private readonly opened = new Set<Net.Socket>()
  private readonly options: PreferTlsOptions

  constructor(options: PreferTlsOptions) {
    super()
    this.options = options
    const raw = this.open()
    const failed = (error: Error) => this.destroy(error)
    const closed = () => this.destroy()
    raw.on("error", failed).on("close", closed)
    raw.write(SSL_REQUEST)
    raw.once("data", (chunk: Buffer) => {
      raw.off("error", failed).off("close", closed)
      if (this.destroyed) return
      if (chunk.length === 1 && chunk[0] === TLS_ACCEPTED) return this.handshake(raw)
      if (this.options.required === true) {
        raw.destroy()
        return this.destroy(new Error("the server does not accept TLS, which the sslmode requires"))
      }
      // "N": no TLS on this server. Anything else (an ErrorResponse) is the driver's to read and report.
      this.attach(raw, chunk.length === 1 ? undefined : chunk)
    })
  }

  private open(): Net.Socket {
    const { host, port, keepAliveMs } = this.options
    const socket = Net.connect({
      host,
      port,
      noDelay: true,
      ...(keepAliveMs === undefined ? {} : { keepAlive: true, keepAliveInitialDelay: keepAliveMs })
    })
    this.opened.add(socket)
    return socket
  }

  private handshake(raw: Net.Socket): void {
    const { host } = this.options
    const secure = Tls.connect({
      ...this.options.tls,
      socket: raw,
      host,
      ...(Net.isIP(host) === 0 ? { servername: host } : {})
    })
    this.opened.add(secure)
    let failed = false
    const fallBack = (error: Error) => {
      if (failed) return
      failed = true
      secure.destroy()
      raw.destroy()
      if (this.options.required === true) return this.destroy(error)
      if (!this.destroyed) this.attach(this.open())
    }
    // An error on either socket before the handshake completes is a failed handshake.
    raw.once("error", fallBack)
    secure.once("error", fallBack)
    secure.once("secureConnect", () => {
      raw.off("error", fallBack).on("error", (error) => this.destroy(error))
      secure.off("error", fallBack)
      this.attach(secure)
    })
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Every socket opened on the way (the raw one, the TLS one, a plaintext retry), attached or not.
    for (const socket of this.opened) socket.destroy()
    super._destroy(error, callback)
  }
}
