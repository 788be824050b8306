/**
 * The entity kit's rows decoded field by field (Entity/EntityRows.ts) against the Model's schema: on rows
 * PostgreSQL returns, written here with raw SQL so that they include what the kit never writes, a row the fast
 * decoder accepts must be the very value the schema gives (a Redacted field still Redacted), and a row it
 * refuses must decode, or fail, exactly as the schema decides: through the store's findById as well.
 */
import { assert, it, layer } from "@effect/vitest"
import { Effect, Exit, Option, Redacted, Schema } from "effect"
import { Model } from "effect/schema"
import { SqlClient } from "effect/sql"
import * as Entity from "../../../src/Database/Entity/EntityKit.ts"
import { entityRowDecoders, fastRowDecoder } from "../../../src/Database/Entity/EntityRows.ts"
import { makeEntityTablePg } from "../../../src/Database/Entity/EntityStorePg.ts"
import { TestDatabase } from "../../../src/Database/Testing/TestDatabase.ts"

class ProbeNotFound extends Schema.TaggedError<ProbeNotFound>()("ProbeNotFound", Entity.NotFoundFields) {}

const ProbeId = Schema.String.pipe(Schema.check(Schema.isUUID()), Schema.brand("ProbeId"))

/** A field of each kind the decoder tells apart, with rules the table below does not enforce. */
class Probe extends Model.Class<Probe>("Probe")({
  id: ProbeId,
  title: Schema.String.pipe(Schema.check(Schema.isMaxLength(8))),
  secret: Model.Sensitive(Schema.RedactedFromValue(Schema.NonEmptyString)),
  score: Schema.NullOr(Schema.Int),
  flag: Schema.Boolean,
  tag: Schema.OptionFromNullOr(Schema.String),
  createdAt: Schema.DateTimeUtcFromDate
}) {}

const Probes = Entity.make(Probe, { table: "entity_rows_probe", notFound: ProbeNotFound })

const uuid = (n: number) => `0190c3a0-0000-7000-8000-${n.toString(16).padStart(12, "0")}`
// PostgreSQL's uuid takes any hex digits; Schema.isUUID wants a version (1-8) and a variant.
const versionZero = "00000000-0000-0000-0000-000000000001"

type Row = Record<string, unknown>

const fast = fastRowDecoder(Probes)!
const { decodeRow } = entityRowDecoders(Probes)
const decodeWithModel = Schema.decodeUnknownEffect(Probe)

/** Equal rows, and their Redacted fields holding the same text (a deep comparison does not look inside). */
const assertSameRow = (actual: Probe, expected: Probe, label: string) => {
  assert.deepStrictEqual(actual, expected, label)
  assert.isTrue(Redacted.isRedacted(actual.secret), label)
  assert.strictEqual(Redacted.value(actual.secret), Redacted.value(expected.secret), label)
}

/** Two exits of a decode: both the same row, or both failing with the same schema error. */
const assertSameOutcome = <E>(
  actual: Exit.Exit<Probe, E>,
  expected: Exit.Exit<Probe, Schema.SchemaError>,
  label: string
) => {
  if (Exit.isSuccess(expected)) {
    assert.isTrue(Exit.isSuccess(actual), `${label}: ${actual}`)
    if (Exit.isSuccess(actual)) assertSameRow(actual.value, expected.value, label)
  } else {
    const error = Exit.isFailure(actual) ? Option.getOrUndefined(Exit.findErrorOption(actual)) : undefined
    assert.isTrue(Schema.isSchemaError(error), `${label}: ${actual}`)
    const expectedError = Option.getOrThrow(Exit.findErrorOption(expected))
    assert.strictEqual((error as Schema.SchemaError).message, expectedError.message, label)
  }
}

layer(TestDatabase.layer(), { timeout: "60 seconds" })("an entity's rows decoded field by field", (it) => {
  it.effect("equal to the Model's decode where they fit; refused rows decode or fail as the Model says", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE entity_rows_probe (
        id uuid PRIMARY KEY, title text NOT NULL, secret text NOT NULL, score integer, flag boolean NOT NULL,
        tag text, created_at timestamptz NOT NULL)`
      yield* sql`INSERT INTO entity_rows_probe (id, title, secret, score, flag, tag, created_at) VALUES
        (${uuid(1)}, 'short', 's3cret', 7, true, 'x', '2024-01-02 03:04:05.678901+00'),
        (${uuid(2)}, '', 'k', NULL, false, NULL, '1970-01-01 00:00:00+00'),
        (${uuid(3)}, 'far too long', 'k', 1, true, NULL, now()),
        (${uuid(4)}, 'ok', '', 1, true, NULL, now()),
        (${versionZero}, 'ok', 'k', 1, true, NULL, now()),
        (${uuid(6)}, 'ok', 'k', 1, true, NULL, 'infinity')`
      const rows = yield* sql.unsafe<Row>(
        `SELECT id AS "id", title AS "title", secret AS "secret", score AS "score", flag AS "flag", tag AS "tag",
          created_at AS "createdAt" FROM entity_rows_probe`
      ).withoutTransform
      const store = makeEntityTablePg(sql, Probes, { uniques: [], foreignKeys: [], checks: [] })
      const accepted = new Set([uuid(1), uuid(2)])
      assert.strictEqual(rows.length, 6)
      for (const row of rows) {
        const label = String(row.id)
        const expected = yield* Effect.exit(decodeWithModel(row))
        const decoded = fast(row)
        assert.strictEqual(decoded !== undefined, accepted.has(label), `taken fast: ${label}`)
        assert.strictEqual(Exit.isSuccess(expected), accepted.has(label), `valid for the Model: ${label}`)
        if (decoded !== undefined && Exit.isSuccess(expected)) assertSameRow(decoded, expected.value, label)
        // Through the kit's decoder and through findById's own statement.
        assertSameOutcome(yield* Effect.exit(decodeRow(row)), expected, label)
        const found = yield* Effect.exit(Effect.map(store.findById(label), Option.getOrThrow))
        assertSameOutcome(found, expected, `findById ${label}`)
      }
    })
  )
})

class Loose extends Model.Class<Loose>("Loose")({
  id: ProbeId,
  note: Schema.optionalKey(Schema.String)
}) {}
const Looses = Entity.make(Loose, { table: "loose", notFound: ProbeNotFound })
const decodeLoose = Schema.decodeUnknownEffect(Loose)

it.effect("a row the fast decoder leaves to the Model (a missing optional key) decodes as the Model decodes it", () =>
  Effect.gen(function* () {
    const row = { id: uuid(7) }
    assert.isUndefined(fastRowDecoder(Looses)!(row))
    const expected = yield* decodeLoose(row)
    assert.deepStrictEqual(yield* entityRowDecoders(Looses).decodeRow(row), expected)
    assert.deepStrictEqual(yield* entityRowDecoders(Looses).decodeRows([row, { id: uuid(8), note: "n" }]), [
      expected,
      yield* decodeLoose({ id: uuid(8), note: "n" })
    ])
  })
)
