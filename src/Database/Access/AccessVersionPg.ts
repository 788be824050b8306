import { Effect, Schema } from "effect"
import { type SqlClient, type SqlError, SqlSchema } from "effect/sql"
import type { UserId } from "../../Domain/index.ts"
import { exactlyOne } from "../Postgres/Statements.ts"

// The statements of the permission cache; the version and its triggers are in migrations/0005_permission_version.sql.

/** The channel every change to access data is notified on, with the new version as payload. */
export const ACCESS_VERSION_CHANNEL = "platform_kernel_permissions"

/** The current access version, as text (a bigint). Also the heartbeat of the cache's listening session. */
export const CURRENT_VERSION_SQL = "SELECT version::text AS version FROM permission_version"

/** A user's permission names and the access version they were read at: one statement, so one snapshot. */
export interface PermissionSet {
  readonly version: bigint
  readonly names: ReadonlyArray<string>
}

const VersionRow = Schema.Struct({ version: Schema.BigIntFromString })
const PermissionSetRow = Schema.Struct({ version: Schema.BigIntFromString, names: Schema.Array(Schema.String) })

/** The access version's statements on `sql`. */
export const makeAccessVersionPg = (sql: SqlClient.SqlClient) => {
  const currentVersion = SqlSchema.findOne({
    Request: Schema.Void,
    Result: VersionRow,
    execute: () => sql.unsafe(CURRENT_VERSION_SQL)
  })
  // An aggregate without GROUP BY: exactly one row, an empty array for a user with no permission (or no user).
  const permissionSet = SqlSchema.findOne({
    Request: Schema.String,
    Result: PermissionSetRow,
    execute: (userId) => sql`SELECT (SELECT version::text FROM permission_version) AS version,
        COALESCE(array_agg(DISTINCT p.name), '{}') AS names
      FROM user_roles ur
      JOIN role_permissions rp ON rp.role_id = ur.role_id
      JOIN permissions p ON p.id = rp.permission_id
      WHERE ur.user_id = ${userId}`
  })
  return {
    /** The committed version now. */
    currentVersion: Effect.map(exactlyOne(currentVersion(undefined)), ({ version }) => version),
    /** Every permission `userId` holds, with the version of the snapshot they were read in. */
    permissionSet: (userId: UserId): Effect.Effect<PermissionSet, SqlError.SqlError | Schema.SchemaError> =>
      exactlyOne(permissionSet(userId))
  }
}
