import { Model } from "effect/schema"
import { DescriptionField } from "./Description.ts"
import { RoleId } from "./Ids.ts"
import { RoleName } from "./RoleName.ts"
import { DbTimestamp } from "./Timestamp.ts"

/** A row of `roles`, with the same variants as `User`. */
export class Role extends Model.Class<Role>("Role")({
  id: Model.UuidV7Insert(RoleId),
  name: RoleName,
  description: DescriptionField,
  createdAt: DbTimestamp
}) {}
