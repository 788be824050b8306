import { Effect, Schema } from "effect"
import type { InvalidInput } from "./Errors.ts"
import { decodeInput } from "./Input.ts"

export const PermissionNameMaxLength = 191

/**
 * A permission name, `module.resource.action` in lower case (e.g. `iam.users.read`); the same rule as the
 * permissions_name_check constraint in SQL.
 */
export const PermissionName = Schema.String.pipe(
  Schema.check(
    Schema.isMaxLength(PermissionNameMaxLength, { message: `must be at most ${PermissionNameMaxLength} characters` }),
    Schema.isPattern(/^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/, {
      message:
        "must have the form module.resource.action, each part a lowercase letter followed by lowercase letters, digits or '_'"
    })
  ),
  Schema.brand("PermissionName")
)
export type PermissionName = typeof PermissionName.Type

/** The three parts of a `PermissionName`. */
export interface PermissionNameParts {
  readonly module: string
  readonly resource: string
  readonly action: string
}

/** Splits a (valid, hence exactly three-part) permission name into its parts. */
export const permissionNameParts = (name: PermissionName): PermissionNameParts => {
  const [module, resource, action] = name.split(".")
  return { module: module!, resource: resource!, action: action! }
}

const decodePermissionName = decodeInput(PermissionName, "name")

/** Validates untrusted input as a permission name and splits it. */
export const parsePermissionName = (input: unknown): Effect.Effect<PermissionNameParts, InvalidInput> =>
  Effect.map(decodePermissionName(input), permissionNameParts)

/** Joins parts into a permission name, validating the result. */
export const makePermissionName = (parts: PermissionNameParts): Effect.Effect<PermissionName, InvalidInput> =>
  decodePermissionName(`${parts.module}.${parts.resource}.${parts.action}`)
