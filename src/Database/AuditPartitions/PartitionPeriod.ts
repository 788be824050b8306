/**
 * The time slots of `audit_logs` partitions: UTC days, ISO weeks (from Monday) or calendar months, and the
 * partition name of each slot. Pure functions: the database is told the bounds, never asked to compute them.
 */

/** The length of one partition (`audit.partitions.period`). */
export type PartitionPeriod = "day" | "week" | "month"

export const PartitionPeriods: ReadonlyArray<PartitionPeriod> = ["day", "week", "month"]

const DAY_MS = 86_400_000

/** The start of the period holding `date` (UTC). */
export const periodStart = (period: PartitionPeriod, date: Date): Date => {
  const day = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate())
  switch (period) {
    case "day":
      return new Date(day)
    case "week":
      // getUTCDay: 0 is Sunday; ISO weeks start on Monday.
      return new Date(day - ((new Date(day).getUTCDay() + 6) % 7) * DAY_MS)
    case "month":
      return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1))
  }
}

/** The first period boundary strictly after `date`. */
export const nextBoundary = (period: PartitionPeriod, date: Date): Date => {
  const start = periodStart(period, date)
  switch (period) {
    case "day":
      return new Date(start.getTime() + DAY_MS)
    case "week":
      return new Date(start.getTime() + 7 * DAY_MS)
    case "month":
      return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1))
  }
}

/** One partition's range: `from` included, `to` excluded. */
export interface Slot {
  readonly from: Date
  readonly to: Date
}

/**
 * The slots to make so that partitions cover up to the end of the `ahead`-th period after the one holding
 * `now`: from `coveredUntil` (the upper bound of the last range partition), or from `now`'s period when
 * nothing is covered yet or the coverage has fallen behind. The first slot may be shorter than a period (it
 * ends at the first boundary after its start), so later ones are aligned whatever the legacy bound was.
 */
export const slotsToMake = (
  period: PartitionPeriod,
  ahead: number,
  now: Date,
  coveredUntil: Date | undefined
): ReadonlyArray<Slot> => {
  let end = periodStart(period, now)
  for (let index = 0; index <= ahead; index++) end = nextBoundary(period, end)
  const current = periodStart(period, now)
  let from = coveredUntil === undefined || coveredUntil < current ? current : coveredUntil
  const slots: Array<Slot> = []
  while (from < end) {
    const to = nextBoundary(period, from)
    slots.push({ from, to })
    from = to
  }
  return slots
}

const pad = (value: number) => String(value).padStart(2, "0")

/** `audit_logs_p20270101`: the slot's start date (UTC); one slot per day at most, so names do not collide. */
export const partitionName = (slot: Slot): string =>
  `audit_logs_p${slot.from.getUTCFullYear()}${pad(slot.from.getUTCMonth() + 1)}${pad(slot.from.getUTCDate())}`
