import { type Array as Arr, Data, type Effect, type Option } from "effect"
import type { AuditLogStore, Changed, StoreFailure } from "../Front/RepositoryStore.ts"
import type { ResolvedReference, UniqueKey } from "./Entity.ts"

// The storage half of an entity's repository, implemented once per backend. Arguments are checked and
// encoded by the front (EntityFront.ts): a row is the Model's encoded form keyed by field (what the driver
// binds), the store answers with decoded rows; it neither validates, nor audits, nor builds domain errors.

/** An encoded row or patch, keyed by field (`userId`, not `user_id`). */
export type EncodedRow = Readonly<Record<string, unknown>>

/** A write would give a unique key to a second row. */
export class EntityKeyTaken extends Data.TaggedError("EntityKeyTaken")<{ readonly key: UniqueKey }> {}

/** A write names a row the reference does not find. */
export class EntityReferenceMissing extends Data.TaggedError("EntityReferenceMissing")<{
  readonly reference: ResolvedReference
  readonly id: string
}> {}

/** A delete is refused: another table still references the row (ON DELETE RESTRICT). */
export class EntityStillReferenced extends Data.TaggedError("EntityStillReferenced")<{ readonly by: string }> {}

/** The database refused a value (a CHECK, a type, a length); `field` names it when it can. */
export class EntityBadValue extends Data.TaggedError("EntityBadValue")<{
  readonly field: string
  readonly rule: string
}> {}

export type EntityWriteFailure = EntityKeyTaken | EntityReferenceMissing | EntityStillReferenced | EntityBadValue

/** A page of rows: at most `limit` after the keyset `after` (text values, in `order`), meeting `where`. */
export interface EntityPageQuery {
  readonly after: ReadonlyArray<string> | undefined
  readonly limit: number
  readonly where: ReadonlyArray<readonly [field: string, value: unknown]>
}

export interface EntityStore<Row> {
  /** All or nothing, in the order given. */
  readonly insert: (
    rows: Arr.NonEmptyReadonlyArray<EncodedRow>
  ) => Effect.Effect<ReadonlyArray<Row>, EntityWriteFailure | StoreFailure>
  readonly findById: (id: string) => Effect.Effect<Option.Option<Row>, StoreFailure>
  readonly findByKey: (
    key: UniqueKey,
    values: ReadonlyArray<unknown>
  ) => Effect.Effect<Option.Option<Row>, StoreFailure>
  readonly list: (query: EntityPageQuery) => Effect.Effect<ReadonlyArray<Row>, StoreFailure>
  /** Sets the given columns (at least one); `None` when there is no such row. */
  readonly update: (
    id: string,
    changes: EncodedRow
  ) => Effect.Effect<Option.Option<Changed<Row>>, EntityWriteFailure | StoreFailure>
  /** The deleted row; rows referencing it follow their ON DELETE. */
  readonly delete: (id: string) => Effect.Effect<Option.Option<Row>, EntityWriteFailure | StoreFailure>
  /** The kernel's audit store and transaction, so an entity's records and a caller's block join them. */
  readonly auditLogs: Pick<AuditLogStore, "insert">
  readonly transaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StoreFailure, R>
}
