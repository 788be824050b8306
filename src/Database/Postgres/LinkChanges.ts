import { type Cause, Effect, Option, Schema } from "effect"
import type { SqlError } from "effect/sql"
import type { AuditAction } from "../../Domain/index.ts"
import type { AuditEvent, ChangedLink } from "../Repositories/AuditEvents.ts"
import { checkId, type IdRule } from "../Repositories/RepositoryInputs.ts"
import type { AuditTrail } from "./AuditTrail.ts"
import { mapSqlErrors } from "./SqlErrors.ts"

/**
 * What a statement adding or removing a link found: the label (email or name) of each end, null when that
 * row does not exist, and whether a link was actually added or removed.
 */
export const LinkChange = Schema.Struct({
  holderLabel: Schema.NullOr(Schema.String),
  heldLabel: Schema.NullOr(Schema.String),
  changed: Schema.Boolean
})

/** Adds or removes the link between two rows and reads both of them, in one round trip. */
type LinkStatement<HolderId, HeldId> = (
  ids: readonly [HolderId, HeldId]
) => Effect.Effect<typeof LinkChange.Type, SqlError.SqlError | Schema.SchemaError | Cause.NoSuchElementError>

/**
 * The mechanism of assignRole/removeRole and grant/revoke: malformed ids fail with their end's NotFound
 * before any SQL, a missing end fails with its NotFound, and only an actual change is audited (`eventOf`
 * with the operation's action), in the same transaction, so the operations are idempotent.
 */
export const makeLinkChanges =
  <HolderId extends string, HeldId extends string, HolderNotFound, HeldNotFound>(
    audit: AuditTrail,
    holder: IdRule<HolderId, HolderNotFound>,
    held: IdRule<HeldId, HeldNotFound>,
    eventOf: (action: AuditAction, link: ChangedLink<HolderId, HeldId>) => AuditEvent
  ) =>
  (
    operation: string,
    statement: LinkStatement<HolderId, HeldId>,
    action: AuditAction,
    holderArgument: string,
    heldArgument: string
  ) =>
    Effect.gen(function* () {
      const holderId = yield* checkId(holder, holderArgument)
      const heldId = yield* checkId(held, heldArgument)
      yield* audit
        .audited(
          Effect.gen(function* () {
            const found = yield* statement([holderId, heldId])
            if (found.holderLabel === null) return yield* Effect.fail(holder.notFound(holderId))
            if (found.heldLabel === null) return yield* Effect.fail(held.notFound(heldId))
            const link = { holderId, holderLabel: found.holderLabel, heldId, heldLabel: found.heldLabel }
            return { link, changed: found.changed }
          }),
          ({ link, changed }) => (changed ? Option.some(eventOf(action, link)) : Option.none())
        )
        .pipe(Effect.catchTag("NoSuchElementError", Effect.die), mapSqlErrors(operation))
    })
