/**
 * The drivers and pgbench are only a fair comparison while they run the statements the library sends. This
 * records what the library sends for one call of each operation (see Recorder.ts) and names every
 * operation whose copy in Operations.ts no longer matches: SQL text (whitespace aside), parameter count,
 * and the parameters themselves except those the library generates (new ids).
 */
import type { Library } from "./Contenders/Library.ts"
import { type Operation, statementsOf } from "./Operations.ts"
import { normalizeSql, recordStatements } from "./Recorder.ts"

export interface Drift {
  readonly operation: string
  readonly problem: string
}

const comparable = (operation: Operation, params: ReadonlyArray<unknown>, statement: number) =>
  JSON.stringify(params.map((param, index) => (operation.generated?.(index, statement) ? "<generated>" : param)))

export const checkSqlSync = async (library: Library, operations: ReadonlyArray<Operation>): Promise<Array<Drift>> => {
  const drifts: Array<Drift> = []
  for (const operation of operations) {
    const [, statements] = await library.run(
      recordStatements((operation.librarySql ?? operation.library)(library.api, 0))
    )
    const expected = statementsOf(operation, 0)
    if (statements.length !== expected.length) {
      drifts.push({
        operation: operation.name,
        problem: `the library sent ${statements.length} statements, not ${expected.length}`
      })
      continue
    }
    for (const [index, sent] of statements.entries()) {
      const bench = expected[index]!
      if (normalizeSql(sent.sql) !== normalizeSql(bench.sql)) {
        drifts.push({
          operation: operation.name,
          problem: `the library now sends: ${normalizeSql(sent.sql).slice(0, 400)}`
        })
      } else if (comparable(operation, sent.params, index) !== comparable(operation, bench.params, index)) {
        drifts.push({
          operation: operation.name,
          problem: `parameters differ: library ${comparable(operation, sent.params, index).slice(0, 200)}, bench ${comparable(operation, bench.params, index).slice(0, 200)}`
        })
      }
    }
  }
  return drifts
}
