/** A benchmark database made ready: migrated by the library itself, seeded, and the deep page located. */
import { Effect } from "effect"
import { type BoundRow, layoutOf, partitionBoundsSql } from "../src/Database/Postgres/AuditPageLayout.ts"
import { AuditLogRepository } from "../src/index.ts"
import { type Library, makeLibrary } from "./Contenders/Library.ts"
import type { DeepPage } from "./Operations.ts"
import { seedStatements } from "./Seed.ts"
import { runStatement } from "./Server.ts"
import type { Volume } from "./Settings.ts"

const PagingLimit = 500

/**
 * The key of the last seeded row before the deep page, and the library's own cursor for it (got by paging
 * through the rows in front, as a client would), checked to point at the same row. Done before anything
 * is appended: appended rows sort before every seeded one.
 */
const locateDeepPage = async (library: Library, url: string, offset: number): Promise<DeepPage> => {
  const [row] = await runStatement(
    url,
    `SELECT (extract(epoch FROM "timestamp") * 1000000)::bigint::text AS after_us, id::text AS after_id
     FROM audit_logs ORDER BY "timestamp" DESC, id DESC OFFSET ${offset - 1} LIMIT 1`
  )
  const afterMicros = String(row?.after_us)
  const afterId = String(row?.after_id)
  const { cursor, lastId } = await library.run(
    Effect.gen(function* () {
      const audit = yield* AuditLogRepository
      let cursor: string | undefined
      let lastId = ""
      for (let skipped = 0; skipped < offset; ) {
        const page = yield* audit.list({ limit: Math.min(PagingLimit, offset - skipped), cursor })
        skipped += page.items.length
        lastId = page.items.at(-1)?.id ?? ""
        if (page.nextCursor._tag === "None") break
        cursor = page.nextCursor.value
      }
      return { cursor, lastId }
    })
  )
  if (cursor === undefined || lastId !== afterId) {
    throw new Error(`the library's cursor after ${offset} rows does not point at row ${afterId} (got ${lastId})`)
  }
  // The partitions' bounds, as the library reads them for its pages' statements.
  const layout = layoutOf((await runStatement(url, partitionBoundsSql)) as unknown as ReadonlyArray<BoundRow>)
  return { cursor, afterMicros, afterId, layout }
}

export interface Prepared {
  readonly library: Library
  readonly deep: DeepPage
  readonly seedSeconds: number
}

export const prepare = async (url: string, volume: Volume): Promise<Prepared> => {
  const library = await makeLibrary(url)
  const startedAt = performance.now()
  for (const statement of seedStatements(volume)) await runStatement(url, statement)
  const seedSeconds = (performance.now() - startedAt) / 1000
  const deep = await locateDeepPage(library, url, volume.deepPageOffset)
  return { library, deep, seedSeconds }
}
