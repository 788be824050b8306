import { Schema } from "effect"
import { AuditLogId, PermissionId, RoleId, UserId } from "./Ids.ts"

// Emails, names and ids are carried as plain strings: an error must be constructible from whatever the
// caller looked up, even input that never passed validation.

/** No user has this id (or e-mail). */
export class UserNotFound extends Schema.TaggedError<UserNotFound>()("UserNotFound", {
  id: Schema.optionalKey(UserId),
  email: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    if (this.id !== undefined) return `User ${this.id} was not found`
    if (this.email !== undefined) return `No user has the e-mail address ${this.email}`
    return "User was not found"
  }
}

/** No role has this id (or name). */
export class RoleNotFound extends Schema.TaggedError<RoleNotFound>()("RoleNotFound", {
  id: Schema.optionalKey(RoleId),
  name: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    if (this.id !== undefined) return `Role ${this.id} was not found`
    if (this.name !== undefined) return `Role "${this.name}" was not found`
    return "Role was not found"
  }
}

/** No permission has this id (or name). */
export class PermissionNotFound extends Schema.TaggedError<PermissionNotFound>()("PermissionNotFound", {
  id: Schema.optionalKey(PermissionId),
  name: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    if (this.id !== undefined) return `Permission ${this.id} was not found`
    if (this.name !== undefined) return `Permission "${this.name}" was not found`
    return "Permission was not found"
  }
}

/** No audit record has this id. */
export class AuditLogNotFound extends Schema.TaggedError<AuditLogNotFound>()("AuditLogNotFound", {
  id: AuditLogId
}) {
  override get message(): string {
    return `Audit log entry ${this.id} was not found`
  }
}

/** Another user already has this e-mail (compared case-insensitively). */
export class EmailAlreadyTaken extends Schema.TaggedError<EmailAlreadyTaken>()("EmailAlreadyTaken", {
  email: Schema.String
}) {
  override get message(): string {
    return `The e-mail address ${this.email} is already taken`
  }
}

/** Another role already has this name. */
export class RoleNameTaken extends Schema.TaggedError<RoleNameTaken>()("RoleNameTaken", {
  name: Schema.String
}) {
  override get message(): string {
    return `A role named "${this.name}" already exists`
  }
}

/** Another permission already has this name. */
export class PermissionNameTaken extends Schema.TaggedError<PermissionNameTaken>()("PermissionNameTaken", {
  name: Schema.String
}) {
  override get message(): string {
    return `A permission named "${this.name}" already exists`
  }
}

// `message` is a real field (not a getter) so it survives serialisation to API clients.
/** An argument broke a rule: `field` names it (e.g. `email`, `metadata.key`), `rule` says what it must be. Nothing was written. */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  field: Schema.String,
  rule: Schema.String,
  message: Schema.String
}) {
  static fromRule(field: string, rule: string): InvalidInput {
    return new InvalidInput({ field, rule, message: `Invalid ${field}: ${rule}` })
  }
}

// Only for failures where trying again later can succeed (lost connection, timeout, deadlock...);
// callers answer 503. Bugs and constraint violations are not this error.
/** The database could not answer now (connection lost, timeout, overload, deadlock): retryable, a 503. */
export class DatabaseUnavailable extends Schema.TaggedError<DatabaseUnavailable>()("DatabaseUnavailable", {
  operation: Schema.String,
  reason: Schema.String
}) {
  get isRetryable(): true {
    return true
  }

  override get message(): string {
    return `The database is unavailable (${this.operation}): ${this.reason}`
  }
}

export type NotFound = UserNotFound | RoleNotFound | PermissionNotFound | AuditLogNotFound
export type AlreadyTaken = EmailAlreadyTaken | RoleNameTaken | PermissionNameTaken
