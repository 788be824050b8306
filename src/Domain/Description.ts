import { Effect, Schema } from "effect"
import { Model } from "effect/schema"
import { isStorableText } from "./StorableText.ts"

export const DescriptionMaxLength = 1000

const Description = Schema.String.pipe(
  Schema.check(
    Schema.isMaxLength(DescriptionMaxLength, { message: `must be at most ${DescriptionMaxLength} characters` }),
    isStorableText
  )
)

/** A role's description: free text, possibly empty, of bounded length. */
export const RoleDescription = Description
export type RoleDescription = typeof RoleDescription.Type

/** A permission's description: free text, possibly empty, of bounded length. */
export const PermissionDescription = Description
export type PermissionDescription = typeof PermissionDescription.Type

const empty = Effect.succeed("")

/** A description column: `NOT NULL DEFAULT ''` in SQL, so optional (defaulting to "") when creating. */
export const DescriptionField = Model.Field({
  select: Description,
  insert: Description.pipe(Schema.withConstructorDefault(empty)),
  update: Description,
  json: Description,
  jsonCreate: Description.pipe(Schema.withDecodingDefaultKey(empty), Schema.withConstructorDefault(empty)),
  jsonUpdate: Description
})
