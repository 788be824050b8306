import { Result } from "effect"

/**
 * Several servers, as libpq reads them: a URL whose authority lists hosts (`postgres://u@h1:5432,h2:5433/db`),
 * `host`/`port` parameters that are comma lists, or `database.host`/`database.port` lists. One port applies to
 * every host; otherwise there is one port per host.
 */
export interface HostAddress {
  /** Host name, IP address, or (starting with `/`) a Unix socket directory. */
  readonly host: string
  readonly port: number
}

/** libpq's `target_session_attrs`: which of the hosts a session may be opened on. */
export const TargetSessionAttrsValues = [
  "any",
  "read-write",
  "read-only",
  "primary",
  "standby",
  "prefer-standby"
] as const
/** One of `TargetSessionAttrsValues`, with libpq's meaning (see README "Several hosts"). */
export type TargetSessionAttrs = (typeof TargetSessionAttrsValues)[number]

/** libpq's `load_balance_hosts`: `disable` tries the hosts in order, `random` in a random order per connection. */
export const LoadBalanceHostsValues = ["disable", "random"] as const
/** One of `LoadBalanceHostsValues`. */
export type LoadBalanceHosts = (typeof LoadBalanceHostsValues)[number]

export const isTargetSessionAttrs = (value: string): value is TargetSessionAttrs =>
  (TargetSessionAttrsValues as ReadonlyArray<string>).includes(value)

export const isLoadBalanceHosts = (value: string): value is LoadBalanceHosts =>
  (LoadBalanceHostsValues as ReadonlyArray<string>).includes(value)

/** A list the caller could not use: what is wrong, never the value. */
export type HostListProblem = string

const validPort = (value: string, what: string): Result.Result<number, HostListProblem> => {
  const port = Number(value)
  return /^\d+$/.test(value.trim()) && Number.isInteger(port) && port >= 1 && port <= 65535
    ? Result.succeed(port)
    : Result.fail(`the ${what} is not a port number (1-65535)`)
}

/** `a,b,c` into its entries; an empty entry is refused (libpq would read it as "the default", a guess here). */
const entries = (list: string, what: string): Result.Result<ReadonlyArray<string>, HostListProblem> => {
  const items = list.split(",").map((item) => item.trim())
  return items.some((item) => item === "") ? Result.fail(`the ${what} list has an empty entry`) : Result.succeed(items)
}

/**
 * Hosts and ports given as two lists (libpq's `host=` and `port=`, or `database.host`/`database.port`): one
 * port for every host, or as many ports as hosts.
 */
export const pairHostsAndPorts = (
  hostList: string,
  portList: string | number,
  what: { readonly hosts: string; readonly ports: string }
): Result.Result<ReadonlyArray<HostAddress>, HostListProblem> =>
  Result.gen(function* () {
    const hosts = yield* entries(hostList, what.hosts)
    const ports: Array<number> = []
    for (const item of yield* entries(String(portList), what.ports)) ports.push(yield* validPort(item, what.ports))
    if (ports.length === 1) return hosts.map((host) => ({ host, port: ports[0]! }))
    if (ports.length !== hosts.length) {
      return yield* Result.fail(`${what.ports} lists ${ports.length} ports for ${hosts.length} hosts`)
    }
    return hosts.map((host, index) => ({ host, port: ports[index]! }))
  })

/** The parts of a URL's authority: its user info (as written) and each `host[:port]` of its host list. */
export interface SplitAuthority {
  /** The URL with only the first host in its authority: what a one-host URL parser (and the driver) can read. */
  readonly firstHostUrl: string
  /** The hosts of the authority, in order; `port` undefined where none was written. */
  readonly hosts: ReadonlyArray<{ readonly host: string; readonly port: string | undefined }>
}

const AUTHORITY = /^(postgres(?:ql)?:\/\/)([^/?#]*)(.*)$/s

/**
 * Splits a `postgres://` URL whose authority may list several hosts. The WHATWG URL parser refuses
 * `h1:5432,h2:5433`, so the list is taken out here and the URL is rebuilt around its first host.
 */
export const splitAuthority = (raw: string): Result.Result<SplitAuthority, HostListProblem> => {
  const match = AUTHORITY.exec(raw)
  if (match === null) return Result.fail("not a postgres:// URL")
  const [, scheme, authority, rest] = match as unknown as [string, string, string, string]
  const at = authority.lastIndexOf("@")
  const userInfo = at === -1 ? "" : authority.slice(0, at + 1)
  const hostList = at === -1 ? authority : authority.slice(at + 1)
  if (!hostList.includes(",")) {
    return Result.succeed({ firstHostUrl: raw, hosts: hostList === "" ? [] : [splitHostPort(hostList)] })
  }
  const items = hostList.split(",")
  if (items.some((item) => item === "")) return Result.fail("the URL's host list has an empty entry")
  return Result.succeed({
    firstHostUrl: `${scheme}${userInfo}${items[0]}${rest}`,
    hosts: items.map(splitHostPort)
  })
}

const splitHostPort = (item: string): { readonly host: string; readonly port: string | undefined } => {
  if (item.startsWith("[")) {
    const close = item.indexOf("]")
    const host = item.slice(1, close === -1 ? undefined : close)
    const after = close === -1 ? "" : item.slice(close + 1)
    return { host, port: after.startsWith(":") && after.length > 1 ? after.slice(1) : undefined }
  }
  const colon = item.lastIndexOf(":")
  return colon === -1
    ? { host: item, port: undefined }
    : { host: item.slice(0, colon), port: colon === item.length - 1 ? undefined : item.slice(colon + 1) }
}

/** The URL's host list with ports (5432 where none was written). */
export const addressesOf = (split: SplitAuthority): Result.Result<ReadonlyArray<HostAddress>, HostListProblem> =>
  Result.gen(function* () {
    const addresses: Array<HostAddress> = []
    for (const { host, port } of split.hosts) {
      let decoded: string
      try {
        decoded = decodeURIComponent(host)
      } catch {
        return yield* Result.fail("malformed percent-encoding in the host")
      }
      addresses.push({ host: decoded, port: port === undefined ? 5432 : yield* validPort(port, "port") })
    }
    return addresses
  })

/** The hosts in the order a new connection tries them: as listed, or shuffled under `load_balance_hosts=random`. */
export const connectionOrder = <A>(
  hosts: ReadonlyArray<A>,
  loadBalance: LoadBalanceHosts,
  random: () => number = Math.random
): ReadonlyArray<A> => {
  if (loadBalance === "disable" || hosts.length < 2) return hosts
  const shuffled = [...hosts]
  for (let index = shuffled.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1))
    ;[shuffled[index], shuffled[other]] = [shuffled[other]!, shuffled[index]!]
  }
  return shuffled
}

/** `host:port` for logs and reports (`[v6]:port` for an IPv6 address). */
export const formatAddress = ({ host, port }: HostAddress): string =>
  host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`
