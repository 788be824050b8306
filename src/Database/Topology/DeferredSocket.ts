import { Duplex } from "node:stream"

/**
 * A socket handed to the driver at once (its `stream` factory is synchronous) and joined to a real one once it
 * is known which host to connect to. What the driver writes meanwhile (its startup message) is held and sent
 * when the real socket is attached; a failed choice destroys this socket with the reason, which the driver
 * reports as a connection error.
 */
export class DeferredSocket extends Duplex {
  private transport: Duplex | undefined
  private readonly queued: Array<{ readonly chunk: Buffer; readonly callback: (error?: Error | null) => void }> = []
  private ended: (() => void) | undefined

  constructor(socket: Promise<Duplex>) {
    super()
    socket.then(
      (transport) => (this.destroyed ? transport.destroy() : this.attach(transport)),
      (error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error)))
    )
  }

  private attach(socket: Duplex): void {
    this.transport = socket
    socket.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause()
    })
    socket.on("end", () => this.push(null))
    socket.on("error", (error) => this.destroy(error))
    socket.on("close", () => this.destroy())
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
