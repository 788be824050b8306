import type { SqlClient } from "effect/sql"
import { Permission } from "../../Domain/index.ts"
import { makeEntityTablePg } from "../Entity/EntityStorePg.ts"
import { kernelConstraints, Permissions } from "../Entity/KernelEntities.ts"
import { makeNamedRowTable } from "../Entity/NamedRowTable.ts"
import type { PermissionStore } from "../Front/RepositoryStore.ts"
import { PermissionRow } from "./Rows.ts"

/** `permissions`: the kit's table of the `Permissions` declaration; a module lists the names under `module.`. */
export const makePermissionStorePg = (sql: SqlClient.SqlClient, reads: SqlClient.SqlClient = sql): PermissionStore =>
  makeNamedRowTable(
    makeEntityTablePg(sql, Permissions, kernelConstraints.permissions, { decode: PermissionRow, reads }),
    {
      entity: Permissions,
      Insert: Permission.insert,
      prefixOf: (query) => (query.module === undefined ? undefined : `${query.module}.`)
    }
  )
