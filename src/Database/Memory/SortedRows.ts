/**
 * A persistent sequence kept in ascending order: sorted chunks of at most `MAX_CHUNK` rows. Inserting copies
 * the list of chunks and the chunks it touches, never the rows of the others, so every earlier version stays
 * as it was (a transaction's snapshot, a rolled-back working copy). Finding a place is two binary searches
 * (over the chunks' first rows, then within one chunk): O(log n); reading on from there costs one step per row.
 */
export interface SortedRows<A> {
  readonly chunks: ReadonlyArray<ReadonlyArray<A>>
  readonly size: number
}

// Inserting costs O(n / MAX_CHUNK + MAX_CHUNK) copies: about 1,000 at 250,000 rows.
const MAX_CHUNK = 256

export type Compare<A> = (left: A, right: A) => number

export const empty: SortedRows<never> = { chunks: [], size: 0 }

/** The number of leading items for which `isBelow` holds (it must hold for a prefix and then never). */
const countBelow = <A>(items: ReadonlyArray<A>, isBelow: (item: A) => boolean): number => {
  let low = 0
  let high = items.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (isBelow(items[middle]!)) low = middle + 1
    else high = middle
  }
  return low
}

/** `rows` with `values` added in order (equal rows go after the ones already there). */
export const insertAll = <A>(rows: SortedRows<A>, values: ReadonlyArray<A>, compare: Compare<A>): SortedRows<A> => {
  if (values.length === 0) return rows
  const chunks = rows.chunks.slice() as Array<ReadonlyArray<A>>
  // The chunks copied by this call, which it may therefore change in place.
  const owned = new Set<ReadonlyArray<A>>()
  for (const value of values) {
    if (chunks.length === 0) {
      const first = [value]
      owned.add(first)
      chunks.push(first)
      continue
    }
    // The last chunk starting at or below `value` (the first chunk when every chunk starts above it).
    const index = Math.max(0, countBelow(chunks, (chunk) => compare(chunk[0]!, value) <= 0) - 1)
    let chunk = chunks[index]! as Array<A>
    if (!owned.has(chunk)) {
      chunk = chunk.slice()
      owned.add(chunk)
      chunks[index] = chunk
    }
    chunk.splice(
      countBelow(chunk, (row) => compare(row, value) <= 0),
      0,
      value
    )
    if (chunk.length > MAX_CHUNK) {
      const upper = chunk.splice(chunk.length >>> 1)
      owned.add(upper)
      chunks.splice(index + 1, 0, upper)
    }
  }
  return { chunks, size: rows.size + values.length }
}

/**
 * The rows for which `isBelow` holds (true for a prefix of the order, then false), from the greatest down.
 * Lazy: a caller that stops after a page has paid O(log n + page).
 */
export function* descendingBelow<A>(rows: SortedRows<A>, isBelow: (row: A) => boolean): Generator<A, void, undefined> {
  const { chunks } = rows
  let chunkIndex = countBelow(chunks, (chunk) => isBelow(chunk[0]!)) - 1
  if (chunkIndex < 0) return
  let rowIndex = countBelow(chunks[chunkIndex]!, isBelow) - 1
  for (; chunkIndex >= 0; chunkIndex--) {
    const chunk = chunks[chunkIndex]!
    if (rowIndex < 0) rowIndex = chunk.length - 1
    for (; rowIndex >= 0; rowIndex--) yield chunk[rowIndex]!
  }
}
