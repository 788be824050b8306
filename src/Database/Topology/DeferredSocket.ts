import type { Duplex } from "node:stream"
import { DeferredDuplex } from "../Client/DeferredDuplex.ts"

/**
 * A socket handed to the driver at once and joined to a real one once it is known which host to connect to; a
 * failed choice destroys this socket with the reason, which the driver reports as a connection error.
 */
export class DeferredSocket extends DeferredDuplex {
  constructor(socket: Promise<Duplex>) {
    super()
    socket.then(
      (transport) => (this.destroyed ? transport.destroy() : this.attach(transport)),
      (error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error)))
    )
  }
}
