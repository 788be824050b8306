import type { Duplex } from "node:stream"
import {
  connectionOrder,
  formatAddress,
  type HostAddress,
  type LoadBalanceHosts,
  type TargetSessionAttrs
} from "../../Config/HostList.ts"
import { DeferredSocket } from "./DeferredSocket.ts"

/** What a host answered when asked what it is: the facts libpq's `target_session_attrs` is decided on. */
export interface HostRole {
  /** `pg_is_in_recovery()`: a standby replaying another server's WAL. */
  readonly inRecovery: boolean
  /** `transaction_read_only` of a new session (a standby, or `default_transaction_read_only` on). */
  readonly readOnly: boolean
  /** The WAL position written (a primary) or replayed (a standby), as `pg_lsn` text. */
  readonly walPosition: string | undefined
  /** A standby: seconds since the last replayed transaction's commit on the primary, when it replayed one. */
  readonly replayDelaySeconds: number | undefined
}

/** One host as last checked: its role, or why it could not be asked. */
export interface HostState {
  readonly address: HostAddress
  readonly role: HostRole | undefined
  readonly problem: string | undefined
  /** Milliseconds since the epoch of the check. */
  readonly checkedAt: number
}

/** Whether a host of this role may take a session under `attrs` (libpq's rules; prefer-standby in two passes). */
export const qualifies = (role: HostRole, attrs: TargetSessionAttrs, pass: "first" | "fallback" = "first"): boolean => {
  switch (attrs) {
    case "any":
      return true
    case "read-write":
      return !role.readOnly
    case "read-only":
      return role.readOnly
    case "primary":
      return !role.inRecovery
    case "standby":
      return role.inRecovery
    case "prefer-standby":
      return pass === "fallback" || role.inRecovery
  }
}

export interface HostResolverOptions {
  readonly hosts: ReadonlyArray<HostAddress>
  readonly targetSessionAttrs: TargetSessionAttrs
  readonly loadBalanceHosts: LoadBalanceHosts
  /** Opens a socket to one host, TLS as configured. */
  readonly connect: (address: HostAddress) => Duplex
  /** Asks one host what it is (a session of its own, closed after). Rejects when the host does not answer. */
  readonly probe: (address: HostAddress) => Promise<HostRole>
  /** A check older than this is made again before a new connection relies on it. */
  readonly maxAgeMs?: number | undefined
  /** A failed resolution is not retried sooner than this (a connection storm does not become a probe storm). */
  readonly retryAfterMs?: number | undefined
}

/** No host matched `target_session_attrs` at the last check. */
export class NoMatchingHostError extends Error {
  override readonly name = "NoMatchingHostError"
}

/**
 * Chooses, for each new connection of a pool, a host that matches `target_session_attrs`, as libpq does for
 * a multi-host connection string: the hosts are checked (all at once, each on a session of its own) and the
 * answers kept until something says they changed: a connection that could not be opened or was lost, or a
 * write refused as read-only (`invalidate`), or their age. The driver gets `socket` as its `stream`, so its
 * pool never knows there are several hosts; a failover is followed by the connections opened after it.
 */
export class HostResolver {
  readonly hosts: ReadonlyArray<HostAddress>
  readonly targetSessionAttrs: TargetSessionAttrs
  private readonly options: HostResolverOptions
  private states: ReadonlyArray<HostState> = []
  private stale = true
  private checking: Promise<ReadonlyArray<HostState>> | undefined
  private lastFailureAt = 0
  /** How many times the hosts were checked, and how many times the chosen host changed (for reports). */
  checks = 0
  switches = 0
  private lastChosen: string | undefined

  constructor(options: HostResolverOptions) {
    this.options = options
    this.hosts = options.hosts
    this.targetSessionAttrs = options.targetSessionAttrs
  }

  /** The driver's `stream`: a socket to the host chosen now. */
  readonly socket = (): Duplex =>
    new DeferredSocket(
      this.choose().then((address) => {
        const socket = this.options.connect(address)
        // A host that refuses or drops the connection is checked again before the next connection.
        socket.once("error", () => this.invalidate())
        return socket
      })
    )

  /** Something suggests the hosts changed (a lost connection, a read-only refusal): check again before use. */
  invalidate(): void {
    this.stale = true
  }

  /** The hosts as last checked (in the configured order). */
  snapshot(): ReadonlyArray<HostState> {
    return this.states
  }

  /** Check every host now. */
  refresh(): Promise<ReadonlyArray<HostState>> {
    if (this.checking !== undefined) return this.checking
    const checking = Promise.all(
      this.hosts.map((address) =>
        this.options.probe(address).then(
          (role): HostState => ({ address, role, problem: undefined, checkedAt: Date.now() }),
          (error: unknown): HostState => ({
            address,
            role: undefined,
            problem: error instanceof Error ? error.message : String(error),
            checkedAt: Date.now()
          })
        )
      )
    ).then((states) => {
      this.states = states
      this.stale = false
      this.checks++
      this.checking = undefined
      return states
    })
    this.checking = checking
    return checking
  }

  /** The host a new connection goes to, checking the hosts first when what is known may be out of date. */
  async choose(): Promise<HostAddress> {
    const maxAge = this.options.maxAgeMs ?? 30_000
    const outdated = this.stale || this.states.some((state) => Date.now() - state.checkedAt > maxAge)
    let chosen = outdated ? undefined : this.pick(this.states)
    if (chosen === undefined && Date.now() - this.lastFailureAt >= (this.options.retryAfterMs ?? 100)) {
      chosen = this.pick(await this.refresh())
    }
    if (chosen === undefined) {
      this.lastFailureAt = Date.now()
      throw new NoMatchingHostError(
        `no host matches target_session_attrs=${this.targetSessionAttrs} (${this.describe()})`
      )
    }
    const key = formatAddress(chosen)
    if (this.lastChosen !== undefined && this.lastChosen !== key) this.switches++
    this.lastChosen = key
    return chosen
  }

  private pick(states: ReadonlyArray<HostState>): HostAddress | undefined {
    const ordered = connectionOrder(states, this.options.loadBalanceHosts)
    for (const pass of ["first", "fallback"] as const) {
      const found = ordered.find(
        (state) => state.role !== undefined && qualifies(state.role, this.targetSessionAttrs, pass)
      )
      if (found !== undefined) return found.address
      if (this.targetSessionAttrs !== "prefer-standby") break
    }
    return undefined
  }

  /** Each host and what it was at the last check, for errors and logs (no credentials). */
  describe(): string {
    if (this.states.length === 0) return this.hosts.map(formatAddress).join(", ")
    return this.states
      .map(
        (state) =>
          `${formatAddress(state.address)}: ${
            state.role === undefined
              ? `unreachable (${state.problem})`
              : state.role.inRecovery
                ? "standby"
                : state.role.readOnly
                  ? "read-only primary"
                  : "primary"
          }`
      )
      .join(", ")
  }
}
