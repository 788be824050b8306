import { Schema } from "effect"
import { User, UserWithAccess } from "../../Domain/index.ts"
import { isInstance, trustedRow, userWithAccessFromRow } from "./Rows.ts"

// Rows built with json_build_object carry timestamps as ISO text (with microseconds and an offset) where
// the Model schemas expect the driver's Date: these turn the text into the Models' encoded form, which the
// Models (inside UserWithAccess) then decode and validate as usual.
const RoleOrPermissionJson = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  description: Schema.String,
  createdAt: Schema.DateFromString
})

/**
 * One `findWithAccess` row, validated by the schemas: the user's own columns, as the driver returns them, under
 * `user`, and the json array of `{ role, permissions }` under `roles`.
 */
export const UserWithAccessRowSchema = Schema.Struct({
  user: Schema.toEncoded(User),
  roles: Schema.Array(Schema.Struct({ role: RoleOrPermissionJson, permissions: Schema.Array(RoleOrPermissionJson) }))
}).pipe(Schema.decodeTo(UserWithAccess))

/** One `findWithAccess` row, decoded trusted (see Rows.ts), falling back to `UserWithAccessRowSchema`. */
export const UserWithAccessRow = trustedRow(UserWithAccessRowSchema, isInstance(UserWithAccess), userWithAccessFromRow)
