import { Effect } from "effect"
import { type CursorCodec, pageFromRows } from "../../Domain/index.ts"
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
