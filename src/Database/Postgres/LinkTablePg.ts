import { Effect, Schema } from "effect"
import type { SqlClient, Statement } from "effect/sql"
import type { BulkLinkStore, LinkChange, LinkChanges, RowRef, StoreFailure } from "../Front/RepositoryStore.ts"

/** One end of a link: its table, its column in the link table, its unique key, and its label in the audit record. */
interface LinkEnd<Id> {
  readonly Id: Schema.ConstraintCodec<Id, string>
  readonly table: "users" | "roles" | "permissions"
  readonly column: "user_id" | "role_id" | "permission_id"
  readonly key: "email" | "name"
  /** Text (`email::text`: citext is not text to the driver) or `name`. */
  readonly label: "email::text" | "name"
}

/**
 * A link table (`user_roles`, `role_permissions`): each change is one statement that also reads both ends
 * (by id or by key), so the front learns in the same round trip whether they exist and whether the link
 * changed.
 */
export const makeLinkTablePg = <HolderId extends string, HeldId extends string, HolderKey, HeldKey>(
  sql: SqlClient.SqlClient,
  spec: {
    readonly table: "user_roles" | "role_permissions"
    readonly holder: LinkEnd<HolderId>
    readonly held: LinkEnd<HeldId>
  }
): BulkLinkStore<HolderId, HeldId, HolderKey, HeldKey> => {
  const links = sql.literal(spec.table)
  const literals = (end: LinkEnd<string>) => ({
    table: sql.literal(end.table),
    column: sql.literal(end.column),
    key: sql.literal(end.key),
    label: sql.literal(end.label)
  })
  const holder = literals(spec.holder)
  const held = literals(spec.held)
  // The ends a statement found (NULL when absent) and whether the link changed.
  const decodeRows = Schema.decodeUnknownEffect(
    Schema.Array(
      Schema.Struct({
        holderId: Schema.NullOr(spec.holder.Id),
        holderLabel: Schema.NullOr(Schema.String),
        heldId: Schema.NullOr(spec.held.Id),
        heldLabel: Schema.NullOr(Schema.String),
        changed: Schema.Boolean
      })
    )
  )
  const end = <Id>(id: Id | null, label: string | null) => (id === null || label === null ? null : { id, label })

  const matching = (end: ReturnType<typeof literals>, ref: RowRef<string, unknown>): Statement.Fragment =>
    "id" in ref ? sql`id = ${ref.id}` : sql`${end.key} = ${ref.key as string}`

  // Both ends, as rows holder_row and held_row (empty when absent), and `changed`: the link statement.
  const linkStatement =
    (changeLink: Statement.Fragment, lock: Statement.Fragment) =>
    (holderRef: RowRef<HolderId, HolderKey>, heldRef: RowRef<HeldId, HeldKey>) =>
      sql`
        WITH holder_row AS (
            SELECT id, ${holder.label} AS label FROM ${holder.table} WHERE ${matching(holder, holderRef)} ${lock}
          ),
          held_row AS (SELECT id, ${held.label} AS label FROM ${held.table} WHERE ${matching(held, heldRef)} ${lock}),
          changed AS (${changeLink})
        SELECT (SELECT id FROM holder_row) AS holder_id, (SELECT label FROM holder_row) AS holder_label,
          (SELECT id FROM held_row) AS held_id, (SELECT label FROM held_row) AS held_label,
          EXISTS (SELECT 1 FROM changed) AS changed`.pipe(
        Effect.flatMap(decodeRows),
        Effect.flatMap(([row]) =>
          row === undefined
            ? Effect.die(new Error(`${spec.table}: a link statement returned no row`))
            : Effect.succeed<LinkChange<HolderId, HeldId>>({
                holder: end(row.holderId, row.holderLabel),
                held: end(row.heldId, row.heldLabel),
                changed: row.changed
              })
        )
      )

  // FOR KEY SHARE keeps both ends from being deleted before the link is inserted.
  const add = linkStatement(
    sql`INSERT INTO ${links} (${holder.column}, ${held.column})
      SELECT holder_row.id, held_row.id FROM holder_row CROSS JOIN held_row
      ON CONFLICT DO NOTHING RETURNING 1`,
    sql.literal("FOR KEY SHARE")
  )

  const remove = linkStatement(
    sql`DELETE FROM ${links} l USING holder_row, held_row
      WHERE l.${holder.column} = holder_row.id AND l.${held.column} = held_row.id RETURNING 1`,
    sql.literal("")
  )

  // One row per held row found (or a single row of NULLs when there is none, or no holder).
  const addAll = (
    holderId: HolderId,
    heldIds: ReadonlyArray<HeldId>
  ): Effect.Effect<LinkChanges<HolderId, HeldId>, StoreFailure> =>
    sql`
      WITH holder_row AS (SELECT id, ${holder.label} AS label FROM ${holder.table} WHERE id = ${holderId} FOR KEY SHARE),
        held_rows AS (
          SELECT id, ${held.label} AS label FROM ${held.table} WHERE id = ANY(${heldIds}::uuid[]) FOR KEY SHARE
        ),
        changed AS (
          INSERT INTO ${links} (${holder.column}, ${held.column})
          SELECT holder_row.id, held_rows.id FROM holder_row CROSS JOIN held_rows
          ON CONFLICT DO NOTHING RETURNING ${held.column} AS id
        )
      SELECT holder_row.id AS holder_id, holder_row.label AS holder_label, held_rows.id AS held_id,
        held_rows.label AS held_label, changed.id IS NOT NULL AS changed
      FROM (SELECT 1) AS one
        LEFT JOIN holder_row ON true
        LEFT JOIN held_rows ON holder_row.id IS NOT NULL
        LEFT JOIN changed ON changed.id = held_rows.id`.pipe(
      Effect.flatMap(decodeRows),
      Effect.map((rows) => ({
        holder: rows[0] === undefined ? null : end(rows[0].holderId, rows[0].holderLabel),
        held: rows.flatMap((row) => {
          const found = end(row.heldId, row.heldLabel)
          return found === null ? [] : [{ ...found, changed: row.changed }]
        })
      }))
    )

  return { add, remove, addAll }
}
