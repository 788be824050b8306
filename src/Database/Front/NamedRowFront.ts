import { Effect, Option } from "effect"
import type { AuditEvent, InvalidInput } from "../../Domain/index.ts"
import type { makeAuditTrail } from "./AuditTrail.ts"
import type { methodsOf } from "./Operation.ts"
import { type IdRule, lookupById } from "./RepositoryInputs.ts"
import type { NamedRowStore, PageQuery } from "./RepositoryStore.ts"

/**
 * The methods roles and permissions share: `create`, `ensure`, `findById`, `findByName` and `delete` of a
 * row with a unique name.
 */
export const makeNamedRowMethods = <
  Row extends { readonly id: Id; readonly name: string },
  Input,
  Insert extends { readonly name: Name },
  Id extends string,
  Name extends string,
  NotFound,
  NameTaken,
  Query extends PageQuery<Name>
>(spec: {
  readonly method: ReturnType<typeof methodsOf>
  readonly audit: ReturnType<typeof makeAuditTrail>
  readonly rows: NamedRowStore<Row, Insert, Id, Name, Query>
  readonly idRule: IdRule<Id, NotFound>
  /** The row `create` or `ensure` is asked for, with a fresh id. */
  readonly newRow: (input: Input) => Effect.Effect<Insert, InvalidInput>
  readonly decodeName: (name: string) => Effect.Effect<Name, InvalidInput>
  readonly nameNotFound: (name: Name) => NotFound
  readonly nameTaken: (name: Name) => NameTaken
  readonly createdEvent: (created: Row) => AuditEvent
  readonly deletedEvent: (deleted: Row) => AuditEvent
}) => {
  const { method, rows, audit } = spec

  const create = method("create")(function* (input: Input) {
    const row = yield* spec.newRow(input)
    return yield* audit
      .audited(rows.insert(row), (created) => [spec.createdEvent(created)])
      .pipe(Effect.catchTag("KeyTaken", () => Effect.fail(spec.nameTaken(row.name))))
  })

  const ensure = method("ensure")(function* (input: Input) {
    const [ensured] = yield* audit.audited(rows.insertOrGetAll([yield* spec.newRow(input)]), ([first]) =>
      first?.created === true ? [spec.createdEvent(first.row)] : []
    )
    return ensured!.row
  })

  const findById = method("findById")(function* (id: Id) {
    return yield* lookupById(spec.idRule, "id", id, rows.findById)
  })

  const findByName = method("findByName")(function* (name: string) {
    const validName = yield* spec.decodeName(name)
    const found = yield* rows.findByName(validName)
    if (Option.isNone(found)) return yield* Effect.fail(spec.nameNotFound(validName))
    return found.value
  })

  const delete_ = method("delete")(function* (id: Id) {
    yield* spec.audit.auditedDelete(spec.idRule, id, rows.delete, spec.deletedEvent)
  })

  return { create, ensure, findById, findByName, delete: delete_ }
}
