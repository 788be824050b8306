import { Schema } from "effect"
import { isStorableText } from "./StorableText.ts"

export const AuditTargetIdMaxLength = 256

/**
 * What an audit record is about: usually the id of the changed row, any short text otherwise (free text in SQL,
 * because a target can be any kind of thing: a user id, a role name, a config key...).
 */
export const AuditTargetId = Schema.String.pipe(
  Schema.check(
    Schema.isPattern(/\S/, { message: "must not be blank" }),
    Schema.isMaxLength(AuditTargetIdMaxLength, { message: `must be at most ${AuditTargetIdMaxLength} characters` }),
    isStorableText
  )
)
export type AuditTargetId = typeof AuditTargetId.Type
