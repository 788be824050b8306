import { Duplex } from "node:stream"

/**
 * A socket handed to the driver at once (its `stream` factory is synchronous) and joined to the real transport
 * once one is ready: a TLS negotiation, or the choice of a host. What the driver writes meanwhile (its startup
 * message) is held and sent when the transport is attached; destroying it before then fails those writes.
 */
export class DeferredDuplex extends Duplex {
  protected transport: Duplex | undefined
  private readonly queued: Array<{ readonly chunk: Buffer; readonly callback: (error?: Error | null) => void }> = []
  private ended: (() => void) | undefined

  /** Joins the transport; `unread` is what was already read from it and belongs to the driver. */
  protected attach(socket: Duplex, unread?: Buffer): void {
    this.transport = socket
    socket.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause()
    })
    socket.on("end", () => this.push(null))
    socket.on("error", (error) => this.destroy(error))
    socket.on("close", () => this.destroy())
    if (unread !== undefined) this.push(unread)
    for (const { chunk, callback } of this.queued.splice(0)) socket.write(chunk, callback)
    if (this.ended !== undefined) socket.end(this.ended)
  }

  override _read(): void {
    this.transport?.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.transport === undefined) this.queued.push({ chunk, callback })
    else this.transport.write(chunk, callback)
  }

  override _final(callback: () => void): void {
    if (this.transport === undefined) this.ended = callback
    else this.transport.end(callback)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.transport?.destroy()
    for (const { callback: written } of this.queued.splice(0)) written(error ?? new Error("socket closed"))
    callback(error)
  }
}
