/**
 * `DrainingHttpServer` on its own, with raw sockets: what each kind of connection gets when the listener
 * closes, and the bound `closeTimeout` puts on a response that never ends.
 */
import { connect, type Socket } from "node:net"
import { Duration } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { DrainingHttpServer } from "../../../src/Database/Health/DrainingHttpServer.ts"

const servers: Array<DrainingHttpServer> = []
afterEach(() => {
  for (const server of servers.splice(0)) server.closeAllConnections()
})

/** A server answering `GET /` with "ok", and `GET /never` never. */
const start = async (closeTimeout = Duration.seconds(10)) => {
  const server = new DrainingHttpServer({ closeTimeout })
  servers.push(server)
  server.on("request", (request, response) => {
    if (request.url !== "/never") response.end("ok")
  })
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening))
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("no TCP address")
  return { server, port: address.port }
}

const open = (port: number) =>
  new Promise<Socket>((connected) => {
    const socket = connect(port, "127.0.0.1", () => connected(socket))
  })

/** Everything the server sends on `socket` until it closes the connection, and whether it was reset. */
const readToEnd = (socket: Socket) =>
  new Promise<{ readonly text: string; readonly error?: string }>((done) => {
    let text = ""
    socket.setEncoding("utf8").on("data", (chunk: string) => {
      text += chunk
    })
    socket.once("end", () => done({ text }))
    socket.once("error", (error: NodeJS.ErrnoException) => done({ text, error: error.code ?? error.message }))
  })

const closed = (server: DrainingHttpServer) => new Promise<void>((done) => server.close(() => done()))

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`

describe("DrainingHttpServer", () => {
  it("answers with keep-alive before the drain and with Connection: close during it", async () => {
    const { server, port } = await start()
    const socket = await open(port)
    const read = readToEnd(socket)
    socket.write(get("/"))
    await new Promise((done) => setTimeout(done, 100))
    server.drain()
    socket.write(get("/"))
    const { text, error } = await read
    expect(error).toBeUndefined()
    const responses = text.split("HTTP/1.1 200 OK").slice(1)
    expect(responses).toHaveLength(2)
    expect(responses[0]).toMatch(/connection: keep-alive/i)
    // The server closed the connection itself, after the second answer.
    expect(responses[1]).toMatch(/connection: close/i)
    await closed(server)
  })

  it("closes a connection idle after a response, and answers one accepted with its request still to come", async () => {
    const { server, port } = await start()
    const idle = await open(port)
    const idleRead = readToEnd(idle)
    idle.write(get("/"))
    await new Promise((done) => setTimeout(done, 100))
    const fresh = await open(port)
    const freshRead = readToEnd(fresh)
    await new Promise((done) => setTimeout(done, 50))
    const serverClosed = closed(server)
    // The request comes after close() was called, within the grace a new connection gets.
    await new Promise((done) => setTimeout(done, 150))
    fresh.write(get("/"))
    const freshResult = await freshRead
    expect(freshResult.error).toBeUndefined()
    expect(freshResult.text).toMatch(/^HTTP\/1.1 200 OK/)
    expect(freshResult.text).toMatch(/connection: close/i)
    const idleResult = await idleRead
    expect(idleResult.text).toMatch(/^HTTP\/1.1 200 OK/)
    await serverClosed
  })

  it("cuts a response that never ends at closeTimeout, and then calls back", async () => {
    const { server, port } = await start(Duration.millis(300))
    const socket = await open(port)
    const read = readToEnd(socket)
    socket.write(get("/never"))
    await new Promise((done) => setTimeout(done, 100))
    const startedAt = Date.now()
    await closed(server)
    const elapsed = Date.now() - startedAt
    expect(elapsed).toBeGreaterThanOrEqual(250)
    expect((await read).text).toBe("")
  })
})
