import { Model } from "effect/schema"
import { DescriptionField } from "./Description.ts"
import { PermissionId } from "./Ids.ts"
import { PermissionName } from "./PermissionName.ts"
import { DbTimestamp } from "./Timestamp.ts"

/** A row of `permissions`, with the same variants as `User`. */
export class Permission extends Model.Class<Permission>("Permission")({
  id: Model.UuidV7Insert(PermissionId),
  name: PermissionName,
  description: DescriptionField,
  createdAt: DbTimestamp
}) {}
