import { Schema } from "effect"

/**
 * A role name: 1 to 64 characters, a lowercase letter followed by lowercase letters, digits, `_` or `-`; the
 * same rule as the roles_name_check constraint in SQL.
 */
export const RoleName = Schema.String.pipe(
  Schema.check(
    Schema.isPattern(/^[a-z][a-z0-9_-]{0,63}$/, {
      message: "must be 1 to 64 characters: a lowercase letter followed by lowercase letters, digits, '_' or '-'"
    })
  ),
  Schema.brand("RoleName")
)
export type RoleName = typeof RoleName.Type
