/**
 * The time ranges a page of `audit_logs` is read in, from the partitions' bounds (README "Audit partitions",
 * "Pages over many partitions").
 *
 * A page over the partitioned table reads two complementary branches, each ordered and limited, merged:
 * - the run of contiguous range partitions ending with the newest, named by constant bounds written into the
 *   statement's text. PostgreSQL then knows while planning that the default partition is not in it, so it
 *   reads the partitions one after the other, newest first, and stops at the page's last row (an ordered
 *   Append), where with the default partition among them it must open and merge every partition's index;
 * - everything else (the default partition, and any partition older than a gap in the run), by the
 *   complement of those bounds.
 * The two branches cover every row once whatever the bounds say, so bounds read a while ago (a partition made
 * or dropped since) can cost speed, never a row. They are read from the catalog once a minute at most.
 *
 * Constants and not parameters, so that a prepared statement's generic plan is as good as a custom one, and
 * PostgreSQL keeps it after five executions: planning a custom plan over tens of partitions and their indexes
 * costs about a millisecond, the execution of a page a tenth of that.
 */
import { type Context, Effect, type Scope } from "effect"
import type { SqlClient } from "effect/sql"

/** A partition bound: its SQL literal, and microseconds since the epoch to compare with a cursor's. */
export interface Bound {
  readonly literal: string
  readonly micros: number
}

export interface AuditPageLayout {
  /** Start of the run (included); undefined when it starts at MINVALUE (the legacy partition). */
  readonly from: Bound | undefined
  /** End of the run (excluded). */
  readonly to: Bound
  /** The end of each partition of the run, oldest first: a cursor's partition ends at the first one past it. */
  readonly ends: ReadonlyArray<Bound>
}

export interface BoundRow {
  readonly lower_text: string | null
  readonly lower_us: string | null
  readonly upper_text: string | null
  readonly upper_us: string | null
}

const boundOf = (text: string, micros: string): Bound => ({ literal: `'${text}'::timestamptz`, micros: Number(micros) })

/**
 * The run of contiguous range partitions that ends with the newest one, or undefined when `audit_logs` has no
 * range partition (a table not partitioned, or only its default partition).
 */
export const layoutOf = (rows: ReadonlyArray<BoundRow>): AuditPageLayout | undefined => {
  const ranged = rows
    .filter((row): row is BoundRow & { upper_text: string; upper_us: string } => row.upper_us !== null)
    .toSorted((a, b) => Number(a.upper_us) - Number(b.upper_us))
  if (ranged.length === 0) return undefined
  let first = ranged.length - 1
  while (first > 0 && ranged[first - 1]!.upper_us === ranged[first]!.lower_us) first--
  const run = ranged.slice(first)
  const start = run[0]!
  return {
    from: start.lower_us === null || start.lower_text === null ? undefined : boundOf(start.lower_text, start.lower_us),
    to: boundOf(run.at(-1)!.upper_text, run.at(-1)!.upper_us),
    ends: run.map((row) => boundOf(row.upper_text, row.upper_us))
  }
}

/** What a page asks of time, in microseconds since the epoch: its cursor's time, its `from` and its `to`. */
export interface PageTimes {
  readonly cursor: number | undefined
  readonly from: number | undefined
  readonly to: number | undefined
}

/**
 * The conditions of a page's two branches, as SQL text: `run` (the contiguous partitions) and `rest` (its
 * complement). The page's own time limits are widened to the partitions' bounds and written as constants too,
 * so that PostgreSQL skips the partitions outside them while it plans, in a generic plan as in a custom one
 * (with parameters only, a generic plan prunes when it starts, and never the default partition); the exact
 * limits stay in the statement as parameters.
 */
export const branchConditions = (
  layout: AuditPageLayout,
  times: PageTimes
): { readonly run: string; readonly rest: string } => {
  const { ends, from: start, to: end } = layout
  // A row at or before the cursor, or before `to`, lies in a partition that ends after the cursor's time, or
  // at `to` or after it.
  const endAfter = (micros: number | undefined, inclusive: boolean) =>
    micros === undefined || micros >= end.micros
      ? undefined
      : ends.find((bound) => (inclusive ? bound.micros >= micros : bound.micros > micros))
  const byCursor = endAfter(times.cursor, false)
  const byTo = endAfter(times.to, true)
  const upper = byCursor === undefined ? byTo : byTo === undefined || byCursor.micros < byTo.micros ? byCursor : byTo
  // A row at or after `from` lies in the partition that starts at or before it, or in a later one.
  const starts = [start, ...ends.slice(0, -1)]
  const lower =
    times.from === undefined || times.from >= end.micros
      ? undefined
      : starts.findLast((bound) => bound !== undefined && bound.micros <= times.from!)
  const runLower = lower ?? start
  const run = [
    ...(runLower === undefined ? [] : [`"timestamp" >= ${runLower.literal}`]),
    `"timestamp" < ${(upper ?? end).literal}`
  ]
  const rest = [
    start === undefined
      ? `"timestamp" >= ${end.literal}`
      : `("timestamp" < ${start.literal} OR "timestamp" >= ${end.literal})`,
    ...(lower === undefined ? [] : [`"timestamp" >= ${lower.literal}`]),
    ...(upper === undefined ? [] : [`"timestamp" < ${upper.literal}`])
  ]
  return { run: run.join(" AND "), rest: rest.join(" AND ") }
}

// Bounds as UTC text with microseconds (a literal that means the same in any session's TimeZone) and as
// microseconds. MINVALUE has no timestamp (NULL); the default partition has neither bound.
// A plain SELECT (no WITH): under read replicas, a statement on the primary that does not start as a read is
// taken for a write, and moves the position later reads wait for.
export const partitionBoundsSql = `SELECT
      to_char(lower AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS lower_text,
      (extract(epoch FROM lower) * 1000000)::bigint::text AS lower_us,
      to_char(upper AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS upper_text,
      (extract(epoch FROM upper) * 1000000)::bigint::text AS upper_us
    FROM (
      SELECT (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']*)''\\)'))[1]::timestamptz AS lower,
        (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']*)''\\)'))[1]::timestamptz AS upper
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = to_regclass('audit_logs')
    ) AS bounds`

// Bumped when this process makes or drops a partition: bounds read before are read again before the next
// page (another instance's changes are seen within LayoutRefreshMillis).
let partitionsVersion = 0

/** Tells every store of this process that the partitions of `audit_logs` changed. */
export const auditPartitionsChanged = (): void => {
  partitionsVersion++
}

/** How long bounds read from the catalog are used before they are read again. */
export const LayoutRefreshMillis = 60_000

/**
 * The current layout: read in the background when the store is made and once `LayoutRefreshMillis` have
 * passed, and before the next page when this process has made or dropped a partition since. The read runs
 * with the store's own services (never in a caller's transaction). A failed read keeps the bounds read last;
 * without any, a page is read by the plain statement (slower over partitions, never wrong).
 */
export const makeAuditPageLayouts = Effect.fnUntraced(function* (
  sql: SqlClient.SqlClient,
  now: () => number = Date.now
): Effect.fn.Return<Effect.Effect<AuditPageLayout | undefined>, never, Scope.Scope> {
  // Its columns read under their own names, whatever the client's transforms.
  const catalog = sql.withoutTransforms()
  const context = yield* Effect.context<never>()
  const scope = yield* Effect.scope
  let layout: AuditPageLayout | undefined
  let readAt = now()
  let readVersion = partitionsVersion
  let reading = false
  const read = Effect.suspend(() => {
    readVersion = partitionsVersion
    return catalog.unsafe<BoundRow>(partitionBoundsSql)
  }).pipe(
    Effect.map(layoutOf),
    Effect.match({
      onFailure: () => {},
      onSuccess: (read) => {
        layout = read
      }
    }),
    Effect.ensuring(
      Effect.sync(() => {
        reading = false
        readAt = now()
      })
    )
  )
  // The store's services in place of the caller's (not merged with them): not its transaction, nor its
  // statement hooks.
  const ownRead = Effect.updateContext(read, (_: Context.Context<never>) => context)
  const refresh = Effect.forkIn(ownRead, scope)
  // The first read in the background too: a server slow to answer (a replica down) must not hold up the layer.
  reading = true
  yield* refresh
  return Effect.suspend(() => {
    if (readVersion !== partitionsVersion) {
      reading = true
      return Effect.map(ownRead, () => layout)
    }
    if (reading || now() - readAt < LayoutRefreshMillis) return Effect.succeed(layout)
    reading = true
    return Effect.as(refresh, layout)
  })
})
