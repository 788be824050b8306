import { Effect, Stream } from "effect"
import { type CursorCodec, type Page, pageFromRows } from "../../Domain/index.ts"
import type { PageQuery } from "./RepositoryStore.ts"

/**
 * One page of a keyset listing: the cursor decoded to the key to list after, the store asked for one row
 * more than `limit` (which only proves that a next page exists), and the next cursor made from the key of the
 * last row returned.
 */
export const listPage = <Key, Row, E, R>(
  request: { readonly limit: number; readonly cursor?: string },
  codec: CursorCodec<Key>,
  fetch: (query: PageQuery<Key>) => Effect.Effect<ReadonlyArray<Row>, E, R>,
  keyOf: (row: Row) => Key
) =>
  Effect.gen(function* () {
    const after = request.cursor === undefined ? undefined : yield* codec.decode(request.cursor)
    const rows = yield* fetch({ after, limit: request.limit + 1 })
    return pageFromRows(rows, request.limit, keyOf, codec)
  })

/**
 * Every row from `request`'s cursor on, as a stream that asks `list` for one page at a time, only when the
 * rows before are consumed, following `nextCursor` until the last page.
 */
export const streamOf =
  <Request extends { readonly cursor?: string | undefined }, A, E, R>(
    list: (request: Request) => Effect.Effect<Page<A>, E, R>
  ) =>
  (request: Request): Stream.Stream<A, E, R> =>
    Stream.paginate(request.cursor, (cursor: string | undefined) =>
      Effect.map(list({ ...request, cursor }), (page) => [page.items, page.nextCursor] as const)
    )
