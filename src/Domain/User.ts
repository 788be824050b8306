import { Schema } from "effect"
import { Model } from "effect/schema"
import { Email } from "./Email.ts"
import { UserId } from "./Ids.ts"
import { PasswordHash } from "./PasswordHash.ts"
import { DbTimestamp } from "./Timestamp.ts"

/**
 * A row of `users`. Variants: `User` (select), `User.insert`, `User.update`, `User.json`,
 * `User.jsonCreate`, `User.jsonUpdate`. The password hash exists only in the database variants.
 */
export class User extends Model.Class<User>("User")({
  id: Model.UuidV7Insert(UserId),
  email: Email,
  passwordHash: Model.Sensitive(PasswordHash),
  // Verification is decided by the system, never by a client payload.
  verified: Schema.Boolean.pipe(Model.FieldExcept(["jsonCreate", "jsonUpdate"])),
  createdAt: DbTimestamp,
  updatedAt: DbTimestamp
}) {}
