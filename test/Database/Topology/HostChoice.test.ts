/**
 * The pure parts of host choice and read-your-writes: libpq's target_session_attrs rules, the order of hosts
 * under load_balance_hosts, and WAL positions as PostgreSQL writes them.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { connectionOrder, splitAuthority } from "../../../src/Config/HostList.ts"
import { type HostRole, qualifies } from "../../../src/Database/Topology/HostResolver.ts"
import * as ReadYourWrites from "../../../src/Database/Topology/ReadYourWrites.ts"

const role = (inRecovery: boolean, readOnly: boolean): HostRole => ({
  inRecovery,
  readOnly,
  walPosition: undefined,
  replayDelaySeconds: undefined
})
const primary = role(false, false)
const readOnlyPrimary = role(false, true)
const standby = role(true, true)

describe("target_session_attrs, as libpq", () => {
  it("each value admits the hosts libpq admits", () => {
    const admitted = (attrs: Parameters<typeof qualifies>[1]) =>
      [primary, readOnlyPrimary, standby].map((host) => qualifies(host, attrs))
    assert.deepStrictEqual(admitted("any"), [true, true, true])
    assert.deepStrictEqual(admitted("read-write"), [true, false, false])
    assert.deepStrictEqual(admitted("read-only"), [false, true, true])
    assert.deepStrictEqual(admitted("primary"), [true, true, false])
    assert.deepStrictEqual(admitted("standby"), [false, false, true])
    // prefer-standby: standbys first, then (the second pass) any host.
    assert.deepStrictEqual(admitted("prefer-standby"), [false, false, true])
    assert.isTrue(qualifies(primary, "prefer-standby", "fallback"))
  })

  it("load_balance_hosts: disable keeps the order, random shuffles it", () => {
    const hosts = ["a", "b", "c", "d"]
    assert.deepStrictEqual(connectionOrder(hosts, "disable"), hosts)
    const always0 = () => 0
    assert.deepStrictEqual(connectionOrder(hosts, "random", always0), ["b", "c", "d", "a"])
    assert.sameMembers([...connectionOrder(hosts, "random")], hosts)
  })

  it("a URL's host list is taken out and the URL rebuilt around its first host", () => {
    const split = splitAuthority("postgres://u:p%40w@h1:5432,[::1]:5433,h3/db?sslmode=disable")
    assert.isTrue(split._tag === "Success")
    if (split._tag !== "Success") return
    assert.strictEqual(split.success.firstHostUrl, "postgres://u:p%40w@h1:5432/db?sslmode=disable")
    assert.deepStrictEqual(split.success.hosts, [
      { host: "h1", port: "5432" },
      { host: "::1", port: "5433" },
      { host: "h3", port: undefined }
    ])
  })
})

describe("WAL positions", () => {
  it("parse, compare and print as pg_lsn", () => {
    const low = ReadYourWrites.parseWalPosition("0/3000148")!
    const high = ReadYourWrites.parseWalPosition("16/B374D848")!
    assert.isTrue(high > low)
    assert.strictEqual(ReadYourWrites.formatWalPosition(high), "16/B374D848")
    assert.isUndefined(ReadYourWrites.parseWalPosition("16-B374D848"))
  })

  it("a written position only moves forward", () => {
    const written = new ReadYourWrites.WrittenPosition()
    written.advance("0/5000000")
    written.advance("0/4000000")
    assert.strictEqual(ReadYourWrites.formatWalPosition(written.position!), "0/5000000")
  })

  it.effect("a session starts from a handed-on position; a malformed one is refused, typed", () =>
    Effect.gen(function* () {
      const handedOn = yield* ReadYourWrites.currentPosition.pipe(ReadYourWrites.session("1/A0"))
      assert.strictEqual(handedOn, "1/A0")
      const fresh = yield* ReadYourWrites.currentPosition.pipe(ReadYourWrites.session())
      assert.isUndefined(fresh)
      const bad = yield* Effect.exit(ReadYourWrites.currentPosition.pipe(ReadYourWrites.session("nope")))
      assert.isTrue(Exit.isFailure(bad))
    })
  )
})
