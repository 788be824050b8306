import { Schema } from "effect"
import { type SqlClient, SqlSchema } from "effect/sql"
import type { LinkStore } from "../Front/RepositoryStore.ts"
import { exactlyOne, LinkChangeRow } from "./Statements.ts"

/** One end of a link: its table, its column in the link table, and the column that labels it in the audit record. */
interface LinkEnd<Id> {
  readonly Id: Schema.ConstraintCodec<Id, string>
  readonly table: "users" | "roles" | "permissions"
  readonly column: "user_id" | "role_id" | "permission_id"
  /** Text (`email::text`: citext is not text to the driver) or `name`. */
  readonly label: "email::text" | "name"
}

/**
 * A link table (`user_roles`, `role_permissions`): each change is one statement that also reads both ends,
 * so the front learns in the same round trip whether they exist and whether the link changed.
 */
export const makeLinkTablePg = <HolderId extends string, HeldId extends string>(
  sql: SqlClient.SqlClient,
  spec: {
    readonly table: "user_roles" | "role_permissions"
    readonly holder: LinkEnd<HolderId>
    readonly held: LinkEnd<HeldId>
  }
): LinkStore<HolderId, HeldId> => {
  const links = sql.literal(spec.table)
  const literals = (end: LinkEnd<string>) => ({
    table: sql.literal(end.table),
    column: sql.literal(end.column),
    label: sql.literal(end.label)
  })
  const holder = literals(spec.holder)
  const held = literals(spec.held)

  // FOR KEY SHARE keeps both ends from being deleted before the link is inserted.
  const add = SqlSchema.findOne({
    Request: Schema.Tuple([spec.holder.Id, spec.held.Id]),
    Result: LinkChangeRow,
    execute: ([holderId, heldId]) => sql`
      WITH holder_row AS (
          SELECT id, ${holder.label} AS label FROM ${holder.table} WHERE id = ${holderId} FOR KEY SHARE
        ),
        held_row AS (SELECT id, ${held.label} AS label FROM ${held.table} WHERE id = ${heldId} FOR KEY SHARE),
        changed AS (
          INSERT INTO ${links} (${holder.column}, ${held.column})
          SELECT holder_row.id, held_row.id FROM holder_row CROSS JOIN held_row
          ON CONFLICT DO NOTHING RETURNING 1
        )
      SELECT (SELECT label FROM holder_row) AS holder_label, (SELECT label FROM held_row) AS held_label,
        EXISTS (SELECT 1 FROM changed) AS changed`
  })

  const remove = SqlSchema.findOne({
    Request: Schema.Tuple([spec.holder.Id, spec.held.Id]),
    Result: LinkChangeRow,
    execute: ([holderId, heldId]) => sql`
      WITH holder_row AS (SELECT id, ${holder.label} AS label FROM ${holder.table} WHERE id = ${holderId}),
        held_row AS (SELECT id, ${held.label} AS label FROM ${held.table} WHERE id = ${heldId}),
        changed AS (
          DELETE FROM ${links} l USING holder_row, held_row
          WHERE l.${holder.column} = holder_row.id AND l.${held.column} = held_row.id RETURNING 1
        )
      SELECT (SELECT label FROM holder_row) AS holder_label, (SELECT label FROM held_row) AS held_label,
        EXISTS (SELECT 1 FROM changed) AS changed`
  })

  return {
    add: (holderId, heldId) => exactlyOne(add([holderId, heldId])),
    remove: (holderId, heldId) => exactlyOne(remove([holderId, heldId]))
  }
}
