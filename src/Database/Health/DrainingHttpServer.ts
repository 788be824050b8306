/**
 * A Node HTTP server that shuts down without resetting keep-alive clients.
 *
 * Node's own `close()` destroys every connection without a request in progress, including one whose request
 * is on its way (the client sees ECONNRESET), and lets busy ones go on being reused for ever (a kept-alive
 * client is served until the shutdown timeout, then cut). Here, once draining, every response says
 * `Connection: close`, so clients reconnect (and are refused once the listener is closed) instead of
 * reusing the connection. When the listener closes, connections idle after a response are closed, busy ones
 * right after their current response, and ones accepted with no request yet get a moment to send it.
 * `close`'s callback runs when the last connection has ended, or at `closeTimeout`, when the rest are cut.
 */
import { type IncomingMessage, Server, type ServerResponse } from "node:http"
import type { Socket } from "node:net"
import { Duration } from "effect"

/**
 * How long a connection accepted just before the listener closed, with no request yet, gets to send one: its
 * client has connected and is sending, which takes a round trip at most.
 */
export const FIRST_REQUEST_GRACE: Duration.Duration = Duration.millis(500)

/**
 * The listener closes once no connection has come and no response has gone for this long (see `close`).
 */
export const QUIET_BEFORE_CLOSE: Duration.Duration = Duration.millis(50)

/** ...and at the latest this long after `close` was called. */
export const MAX_WAIT_FOR_QUIET: Duration.Duration = Duration.seconds(1)

interface ConnectionState {
  /** Requests received on the connection so far. */
  requests: number
  /** The response being written, if any. */
  response: ServerResponse | undefined
}

export class DrainingHttpServer extends Server {
  readonly #closeTimeout: Duration.Duration
  readonly #connections = new Map<Socket, ConnectionState>()
  #draining = false
  #closing = false
  /** Requests received while the listener is about to close, answered once it has. */
  #held: Array<[IncomingMessage, ServerResponse]> | undefined
  /** When a connection last came or a response last went. */
  #lastActivityAt = 0

  constructor(options: { readonly closeTimeout: Duration.Duration }) {
    super()
    this.#closeTimeout = options.closeTimeout
    this.on("connection", (socket: Socket) => {
      this.#lastActivityAt = Date.now()
      this.#connections.set(socket, { requests: 0, response: undefined })
      socket.once("close", () => this.#connections.delete(socket))
    })
    // Before any other listener: the header must be set before the application writes its response.
    this.prependListener("request", (request: IncomingMessage, response: ServerResponse) =>
      this.#track(request.socket, response)
    )
  }

  /** Whether the drain has begun. */
  get draining(): boolean {
    return this.#draining
  }

  /**
   * Begins the drain: from now on every response carries `Connection: close`, the ones being prepared
   * included, so each kept-alive connection is closed after its next response.
   */
  drain(): void {
    if (this.#draining) return
    this.#draining = true
    for (const { response } of this.#connections.values()) {
      if (response !== undefined && !response.headersSent) response.setHeader("connection", "close")
    }
  }

  /**
   * Drains, stops listening and closes every connection as soon as it has nothing to answer; `callback`
   * runs when the last one has ended (at the latest `closeTimeout` later, when the rest are cut).
   *
   * Closing a listening socket resets the connections the kernel has completed but the process has not yet
   * accepted, and a client told `Connection: close` reconnects at once. So new requests are held (not
   * answered) until no connection has come and no response has gone for `QUIET_BEFORE_CLOSE`: by then every
   * client that was reconnecting has been accepted. The listener closes right after an event-loop poll
   * (which accepts all that are pending), then the held requests are answered.
   */
  override close(callback?: (error?: Error) => void): this {
    if (this.#closing) {
      if (callback) this.once("close", () => callback())
      return this
    }
    this.#closing = true
    this.drain()
    this.#held = []
    // Unref'd: only open connections need it, and they keep the process alive themselves.
    const cut = setTimeout(() => this.closeAllConnections(), Duration.toMillis(this.#closeTimeout)).unref()
    this.once("close", () => clearTimeout(cut))
    const giveUpAt = Date.now() + Duration.toMillis(Duration.min(MAX_WAIT_FOR_QUIET, this.#closeTimeout))
    const quiet = Duration.toMillis(QUIET_BEFORE_CLOSE)
    // Checked in setImmediate, just after the poll phase has accepted every pending connection.
    const closeWhenQuiet = () => {
      const now = Date.now()
      const quietFor = now - this.#lastActivityAt
      if (quietFor < quiet && now < giveUpAt) {
        setTimeout(() => setImmediate(closeWhenQuiet), quiet - quietFor)
        return
      }
      // Node's close() stops listening and calls closeIdleConnections (below); the callback runs once every
      // connection has ended.
      super.close(callback)
      const held = this.#held ?? []
      this.#held = undefined
      for (const [request, response] of held) super.emit("request", request, response)
    }
    setImmediate(closeWhenQuiet)
    return this
  }

  /**
   * Closes each connection that has answered a request and has none in progress. One with no request yet
   * was accepted with a request on its way: it gets `FIRST_REQUEST_GRACE` to send it (and is then
   * answered with `Connection: close`).
   */
  override closeIdleConnections(): void {
    for (const [socket, state] of this.#connections) {
      if (state.response !== undefined) continue
      if (state.requests > 0) {
        socket.destroy()
      } else {
        setTimeout(() => {
          if (state.requests === 0) socket.destroy()
        }, Duration.toMillis(FIRST_REQUEST_GRACE)).unref()
      }
    }
  }

  // Holds requests while the listener is about to close (see `close`).
  override emit(event: string | symbol, ...args: Array<unknown>): boolean {
    if (event === "request" && this.#held !== undefined) {
      const [request, response] = args as [IncomingMessage, ServerResponse]
      // Counted now, so the connection is not taken for idle while its request waits.
      this.#track(request.socket, response)
      this.#held.push([request, response])
      return true
    }
    return super.emit(event, ...args)
  }

  #track(socket: Socket, response: ServerResponse): void {
    const state = this.#connections.get(socket)
    if (this.#draining) response.setHeader("connection", "close")
    if (state === undefined || state.response === response) return
    state.requests++
    state.response = response
    const done = () => {
      this.#lastActivityAt = Date.now()
      if (state.response === response) state.response = undefined
      // A response whose headers went out before the drain began still kept the connection alive.
      if (this.#closing && !socket.destroyed) socket.destroySoon()
    }
    response.once("finish", done)
    response.once("close", done)
  }
}
