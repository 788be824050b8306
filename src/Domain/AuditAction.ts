import { Schema } from "effect"

export const AuditActionMaxLength = 128

/**
 * An audit action name, e.g. `user.created` (see `AuditActions`) or a service's own `module.event`; the same
 * rule as the audit_logs_action_check constraint in SQL.
 */
export const AuditAction = Schema.String.pipe(
  Schema.check(
    Schema.isMaxLength(AuditActionMaxLength, { message: `must be at most ${AuditActionMaxLength} characters` }),
    Schema.isPattern(/^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$/, {
      message: "must be dot-separated segments, each a lowercase letter followed by lowercase letters, digits or '_'"
    })
  ),
  Schema.brand("AuditAction")
)
export type AuditAction = typeof AuditAction.Type
