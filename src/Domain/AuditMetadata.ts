import { Schema } from "effect"

/** Upper bound of the UTF-8 JSON encoding of audit metadata (16 KiB). */
export const AuditMetadataMaxBytes = 16 * 1024

const utf8 = new TextEncoder()

/** Size in bytes of the compact UTF-8 JSON text of a value, as it is sent to the jsonb column. */
export const jsonByteLength = (value: unknown): number => utf8.encode(JSON.stringify(value)).byteLength

/** A JSON object (never an array or a scalar) whose JSON encoding fits in `AuditMetadataMaxBytes`. */
export const AuditMetadata = Schema.JsonObject.annotate({ message: "must be a JSON object" }).pipe(
  Schema.check(
    Schema.makeFilter((metadata: Schema.JsonObject) => jsonByteLength(metadata) <= AuditMetadataMaxBytes, {
      message: `must encode to at most ${AuditMetadataMaxBytes} bytes of JSON`
    })
  )
)
export type AuditMetadata = typeof AuditMetadata.Type
