/**
 * An audit append whose connection is lost after the server committed it (as when a primary dies between its
 * commit and its answer): the caller cannot know whether it was stored. The store checks by the rows' ids
 * (made client-side) and inserts only what is missing, so the append succeeds and is stored once; before,
 * the caller got DatabaseUnavailable and its retry stored the entry a second time.
 */
import * as Net from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { AppConfig } from "../../../src/Config/AppConfig.ts"
import * as Database from "../../../src/Database/Database.ts"
import { AuditLogRepository } from "../../../src/Database/Repositories/AuditLogRepository.ts"
import * as RepositoryLayers from "../../../src/Database/RepositoryLayers.ts"
import { scopedDatabase, testConfig } from "../../support/TestDatabase.ts"

const INSERTED = Buffer.from("INSERT 0 ")
// ReadyForQuery: the server has finished the statement, its implicit transaction committed.
const READY = Buffer.from([0x5a, 0x00, 0x00, 0x00, 0x05])

/** A TCP proxy to `target` that, once armed, cuts the connection that carries the answer to an INSERT. */
const cuttingProxy = (target: { readonly host: string; readonly port: number }) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly port: number; readonly arm: () => void; readonly cuts: () => number }>((resume) => {
      let armed = false
      let cuts = 0
      const sockets = new Set<Net.Socket>()
      const server = Net.createServer((client) => {
        const upstream = Net.connect(target)
        sockets.add(client).add(upstream)
        client.on("data", (chunk) => upstream.write(chunk))
        upstream.on("data", (chunk: Buffer) => {
          if (armed && chunk.includes(INSERTED) && chunk.includes(READY)) {
            armed = false
            cuts++
            client.destroy()
            upstream.destroy()
            return
          }
          client.write(chunk)
        })
        const close = () => {
          client.destroy()
          upstream.destroy()
        }
        client.on("close", close).on("error", close)
        upstream.on("close", close).on("error", close)
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address() as Net.AddressInfo
        resume(
          Effect.succeed({
            port: address.port,
            arm: () => {
              armed = true
            },
            cuts: () => cuts,
            close: () => {
              for (const socket of sockets) socket.destroy()
              server.close()
            }
          })
        )
      })
    }),
    (proxy) => Effect.sync(() => (proxy as unknown as { close: () => void }).close())
  )

describe("an audit append cut after its commit", () => {
  it.live("succeeds and is stored once (found by its id), not failed and stored again on retry", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const database = yield* scopedDatabase({ from: "template" })
        const url = new URL(database.url)
        const proxy = yield* cuttingProxy({ host: url.hostname, port: Number(url.port || 5432) })
        url.host = `127.0.0.1:${proxy.port}`
        const config = yield* testConfig({ DATABASE_URL: url.toString(), DATABASE_POOL_MAX_CONNECTIONS: "2" })
        const services = yield* Layer.build(
          RepositoryLayers.layer.pipe(
            Layer.provideMerge(Database.layer),
            Layer.provideMerge(AppConfig.layerFrom(config))
          )
        )
        const audit = Context.get(services, AuditLogRepository)
        const sql = Context.get(services, SqlClient.SqlClient)
        const marker = `cut-${Date.now()}`

        proxy.arm()
        const appended = yield* audit.append({ action: "test.ambiguous", targetId: marker })
        assert.strictEqual(proxy.cuts(), 1, "the connection was cut after the commit")
        assert.strictEqual(appended.action, "test.ambiguous")

        const stored = yield* sql<{ readonly id: string }>`SELECT id FROM audit_logs WHERE target_id = ${marker}`
        assert.deepStrictEqual(
          stored.map((row) => row.id),
          [appended.id]
        )
      })
    )
  )
})
