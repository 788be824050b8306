import { type DateTime, Effect, HashMap, Option } from "effect"
import type {
  AuditAction,
  PermissionId,
  PermissionNotFound,
  RoleId,
  RoleNotFound,
  UserId,
  UserNotFound
} from "../../Domain/index.ts"
import { type AuditEvent, type ChangedLink, rolePermissionEvent, userRoleEvent } from "../Repositories/AuditEvents.ts"
import { checkId, type IdRule, permissionIdRule, roleIdRule, userIdRule } from "../Repositories/RepositoryInputs.ts"
import { makeMemoryAuditTrail } from "./MemoryAudit.ts"
import {
  linkKey,
  type MemoryStore,
  type MemoryTables,
  type RolePermissionRow,
  type UserRoleRow
} from "./MemoryStore.ts"

/** One end of a link: its id rule, and the label (email or name) of its row, `None` when there is none. */
interface LinkEnd<Id extends string, NotFound> extends IdRule<Id, NotFound> {
  readonly labelOf: (tables: MemoryTables, id: Id) => Option.Option<string>
}

/** A link table of the store (keyed by `linkKey(holderId, heldId)`), its two ends and its audit record. */
interface LinkTable<HolderId extends string, HeldId extends string, HolderNotFound, HeldNotFound, Row> {
  readonly holder: LinkEnd<HolderId, HolderNotFound>
  readonly held: LinkEnd<HeldId, HeldNotFound>
  readonly rows: (tables: MemoryTables) => HashMap.HashMap<string, Row>
  readonly withRows: (tables: MemoryTables, rows: HashMap.HashMap<string, Row>) => MemoryTables
  readonly makeRow: (holderId: HolderId, heldId: HeldId, createdAt: DateTime.Utc) => Row
  readonly eventOf: (action: AuditAction, link: ChangedLink<HolderId, HeldId>) => AuditEvent
}

const userEnd: LinkEnd<UserId, UserNotFound> = {
  ...userIdRule,
  labelOf: (tables, id) => Option.map(HashMap.get(tables.users, id), (user) => user.email)
}
const roleEnd: LinkEnd<RoleId, RoleNotFound> = {
  ...roleIdRule,
  labelOf: (tables, id) => Option.map(HashMap.get(tables.roles, id), (role) => role.name)
}
const permissionEnd: LinkEnd<PermissionId, PermissionNotFound> = {
  ...permissionIdRule,
  labelOf: (tables, id) => Option.map(HashMap.get(tables.permissions, id), (permission) => permission.name)
}

export const UserRoles: LinkTable<UserId, RoleId, UserNotFound, RoleNotFound, UserRoleRow> = {
  holder: userEnd,
  held: roleEnd,
  rows: (tables) => tables.userRoles,
  withRows: (tables, userRoles) => ({ ...tables, userRoles }),
  makeRow: (userId, roleId, createdAt) => ({ userId, roleId, createdAt }),
  eventOf: userRoleEvent
}

export const RolePermissions: LinkTable<RoleId, PermissionId, RoleNotFound, PermissionNotFound, RolePermissionRow> = {
  holder: roleEnd,
  held: permissionEnd,
  rows: (tables) => tables.rolePermissions,
  withRows: (tables, rolePermissions) => ({ ...tables, rolePermissions }),
  makeRow: (roleId, permissionId, createdAt) => ({ roleId, permissionId, createdAt }),
  eventOf: rolePermissionEvent
}

/**
 * The memory twin of the PostgreSQL link changes (LinkChanges.ts): malformed ids and missing ends fail with
 * their NotFound, and only an actual change is audited, in the same atomic write. `add` keeps an existing
 * link (ON CONFLICT DO NOTHING), `remove` of an absent one changes nothing.
 */
export const makeLinkChanges = <HolderId extends string, HeldId extends string, HolderNotFound, HeldNotFound, Row>(
  store: MemoryStore["Service"],
  links: LinkTable<HolderId, HeldId, HolderNotFound, HeldNotFound, Row>
) => {
  const { holder, held } = links
  const audit = makeMemoryAuditTrail(store)

  const change = (
    action: AuditAction,
    holderArgument: string,
    heldArgument: string,
    apply: (
      tables: MemoryTables,
      key: string,
      holderId: HolderId,
      heldId: HeldId
    ) => Effect.Effect<Option.Option<MemoryTables>>
  ) =>
    Effect.gen(function* () {
      const holderId = yield* checkId(holder, holderArgument)
      const heldId = yield* checkId(held, heldArgument)
      yield* audit.audited(
        Effect.fnUntraced(function* (tables: MemoryTables) {
          const holderLabel = holder.labelOf(tables, holderId)
          if (Option.isNone(holderLabel)) return yield* Effect.fail(holder.notFound(holderId))
          const heldLabel = held.labelOf(tables, heldId)
          if (Option.isNone(heldLabel)) return yield* Effect.fail(held.notFound(heldId))
          const key = linkKey(holderId, heldId)
          const changed = yield* apply(tables, key, holderId, heldId)
          const link = { holderId, holderLabel: holderLabel.value, heldId, heldLabel: heldLabel.value }
          return [{ link, changed: Option.isSome(changed) }, Option.getOrElse(changed, () => tables)] as const
        }),
        ({ link, changed }) => (changed ? Option.some(links.eventOf(action, link)) : Option.none())
      )
    })

  const add = (action: AuditAction, holderArgument: string, heldArgument: string) =>
    change(action, holderArgument, heldArgument, (tables, key, holderId, heldId) =>
      Effect.gen(function* () {
        if (HashMap.has(links.rows(tables), key)) return Option.none()
        const row = links.makeRow(holderId, heldId, yield* store.transactionTime)
        return Option.some(links.withRows(tables, HashMap.set(links.rows(tables), key, row)))
      })
    )

  const remove = (action: AuditAction, holderArgument: string, heldArgument: string) =>
    change(action, holderArgument, heldArgument, (tables, key) =>
      Effect.succeed(
        HashMap.has(links.rows(tables), key)
          ? Option.some(links.withRows(tables, HashMap.remove(links.rows(tables), key)))
          : Option.none()
      )
    )

  return { add, remove }
}
