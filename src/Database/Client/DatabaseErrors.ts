import { Schema } from "effect"

/** The server could not be reached (or refused us) within `database.startup.timeout`. */
export class DatabaseStartupError extends Schema.TaggedError<DatabaseStartupError>()("DatabaseStartupError", {
  host: Schema.String,
  port: Schema.Number,
  database: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot connect to PostgreSQL at ${this.host}:${this.port}, database "${this.database}": ${this.reason}`
  }
}

/** The embedded PostgreSQL server could not be started. */
export class EmbeddedPostgresError extends Schema.TaggedError<EmbeddedPostgresError>()("EmbeddedPostgresError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `embedded PostgreSQL: ${this.reason}`
  }
}
