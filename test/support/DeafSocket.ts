/**
 * A plaintext connection to a PostgreSQL server, given to the driver as its `stream`, that can be made deaf:
 * while `deaf` is set it drops every NotificationResponse the server sends and passes everything else on. The
 * session then answers its statements as before but hears no NOTIFY, as behind a transaction pooler.
 */
import * as Net from "node:net"
import { Duplex } from "node:stream"

// Message type byte of the protocol's NotificationResponse ('A').
const NOTIFICATION_RESPONSE = 0x41

export interface Deafness {
  /** Drop notifications from now on (true), or pass them again (false). */
  deaf: boolean
  /** How many notifications were dropped. */
  dropped: number
}

/** A socket factory for the driver's `stream` option, to `host`:`port`, deaf while `deafness.deaf`. */
export const deafenableSocket =
  (host: string, port: number, deafness: Deafness): (() => Duplex) =>
  () =>
    new DeafenableSocket(Net.connect({ host, port, noDelay: true }), deafness)

class DeafenableSocket extends Duplex {
  private pending: Buffer = Buffer.alloc(0)
  private readonly socket: Net.Socket
  private readonly deafness: Deafness

  constructor(socket: Net.Socket, deafness: Deafness) {
    super()
    this.socket = socket
    this.deafness = deafness
    socket.on("data", (chunk: Buffer) => this.received(chunk))
    socket.on("end", () => this.push(null))
    socket.on("error", (error) => this.destroy(error))
    socket.on("close", () => this.destroy())
  }

  // Whole messages only (type byte, then a length that counts itself): a notification is dropped whole.
  private received(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    let offset = 0
    while (this.pending.length - offset >= 5) {
      const end = offset + 1 + this.pending.readInt32BE(offset + 1)
      if (end > this.pending.length) break
      if (this.deafness.deaf && this.pending[offset] === NOTIFICATION_RESPONSE) {
        this.deafness.dropped++
      } else {
        this.push(this.pending.subarray(offset, end))
      }
      offset = end
    }
    this.pending = this.pending.subarray(offset)
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.socket.write(chunk, callback)
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy()
    callback(error)
  }
}
