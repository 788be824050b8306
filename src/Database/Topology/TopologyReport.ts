import { Schema } from "effect"
import { formatAddress } from "../../Config/HostList.ts"
import type { HostResolver, HostState } from "./HostResolver.ts"
import { parseWalPosition } from "./ReadYourWrites.ts"

/** Each host the pools may use, as checked now: its role, and a standby's lag behind the primary. */
export const TopologyReport = Schema.Struct({
  /** `host:port` of the server the write pool uses (the one that takes writes); null when none does. */
  primary: Schema.NullOr(Schema.String),
  hosts: Schema.Array(
    Schema.Struct({
      address: Schema.String,
      /** The pool that may use it: `primary` (the write pool's hosts) or `replicas`. */
      pool: Schema.Literals(["primary", "replicas"]),
      role: Schema.Literals(["primary", "standby", "read-only", "unreachable"]),
      /** WAL bytes the standby has still to replay (the primary's position minus its replay position). */
      lagBytes: Schema.NullOr(Schema.Number),
      /** Seconds since the last transaction it replayed committed on the primary; 0 when nothing is left. */
      lagSeconds: Schema.NullOr(Schema.Number)
    })
  )
})
export type TopologyReport = typeof TopologyReport.Type

const roleOf = (state: HostState): TopologyReport["hosts"][number]["role"] =>
  state.role === undefined
    ? "unreachable"
    : state.role.inRecovery
      ? "standby"
      : state.role.readOnly
        ? "read-only"
        : "primary"

/** Checks every host of the write pool's and the replicas' resolvers now, and reports them. */
export const checkTopology = async (resolvers: {
  readonly primary: HostResolver | undefined
  readonly replicas: HostResolver | undefined
}): Promise<TopologyReport> => {
  const [primaryHosts, replicaHosts] = await Promise.all([
    resolvers.primary?.refresh() ?? Promise.resolve([]),
    resolvers.replicas?.refresh() ?? Promise.resolve([])
  ])
  const all = [
    ...primaryHosts.map((state) => ({ state, pool: "primary" as const })),
    ...replicaHosts.map((state) => ({ state, pool: "replicas" as const }))
  ]
  const writable = all.find(({ state }) => roleOf(state) === "primary")?.state
  const primaryPosition =
    writable?.role?.walPosition === undefined ? undefined : parseWalPosition(writable.role.walPosition)
  return {
    primary: writable === undefined ? null : formatAddress(writable.address),
    hosts: all.map(({ state, pool }) => {
      const role = roleOf(state)
      const replayed =
        role === "standby" && state.role?.walPosition !== undefined
          ? parseWalPosition(state.role.walPosition)
          : undefined
      const lagBytes =
        replayed === undefined || primaryPosition === undefined
          ? null
          : Number(primaryPosition > replayed ? primaryPosition - replayed : 0n)
      return {
        address: formatAddress(state.address),
        pool,
        role,
        lagBytes: role === "standby" ? lagBytes : role === "unreachable" ? null : 0,
        lagSeconds:
          role !== "standby"
            ? role === "unreachable"
              ? null
              : 0
            : lagBytes === 0
              ? 0
              : (state.role?.replayDelaySeconds ?? null)
      }
    })
  }
}
