import { Context, Effect, Schema } from "effect"

/** A WAL position (`pg_lsn`: two hexadecimal halves, `16/B374D848`) as a number that compares. */
export const parseWalPosition = (text: string): bigint | undefined => {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim())
  return match === null ? undefined : (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`)
}

/** A WAL position in PostgreSQL's own notation (what `::pg_lsn` reads). */
export const formatWalPosition = (position: bigint): string =>
  `${(position >> 32n).toString(16).toUpperCase()}/${(position & 0xffffffffn).toString(16).toUpperCase()}`

/** A position handed in from elsewhere (a header) that is not a `pg_lsn`. */
export class InvalidWalPosition extends Schema.TaggedError<InvalidWalPosition>()("InvalidWalPosition", {
  message: Schema.String
}) {}

/**
 * The WAL position of the latest write committed in a context: a replica read in that context is served only
 * by a replica that has replayed it (see `ReadReplicas`). Only ever moves forward.
 */
export class WrittenPosition {
  private value: bigint | undefined
  constructor(from?: bigint | undefined) {
    this.value = from
  }
  /** The position to wait for, if anything was written. */
  get position(): bigint | undefined {
    return this.value
  }
  /** Records a commit's position (`pg_lsn` text); an older one changes nothing. */
  advance(text: string | bigint): void {
    const position = typeof text === "bigint" ? text : parseWalPosition(text)
    if (position !== undefined && (this.value === undefined || position > this.value)) this.value = position
  }
}

/**
 * Where writes record their commit's WAL position and replica reads look for it. By default one position for
 * the whole process (every replica read waits for the process's latest write: safe, and a little slower);
 * `ReadYourWrites.session` gives a caller (a request) a position of its own, optionally starting from one
 * handed on by another service.
 */
export const ReadYourWrites = Context.Reference<WrittenPosition>("platform-kernel/Database/ReadYourWrites", {
  defaultValue: () => new WrittenPosition()
})

/** Runs `effect` with a written position of its own, starting at `from` (a `pg_lsn` another service handed on). */
export const session =
  (from?: string | undefined) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | InvalidWalPosition, R> => {
    if (from === undefined || from === "") return Effect.provideService(effect, ReadYourWrites, new WrittenPosition())
    const start = parseWalPosition(from)
    return start === undefined
      ? Effect.fail(new InvalidWalPosition({ message: "the WAL position is not a pg_lsn (expected e.g. 16/B374D848)" }))
      : Effect.provideService(effect, ReadYourWrites, new WrittenPosition(start))
  }

/** The position of this context's latest write, to hand to another service (e.g. as a header); none if none. */
export const currentPosition: Effect.Effect<string | undefined> = Effect.map(
  Effect.service(ReadYourWrites),
  (written) => (written.position === undefined ? undefined : formatWalPosition(written.position))
)
