/** Medians of the rounds, and the tables: ratios as in issue 11, throughput, client CPU. */
import { median, type Sample } from "./Measure.ts"
import type { Operation } from "./Operations.ts"

export const Contenders = {
  library: "library",
  raw: "raw @effect/sql-pg",
  postgresJs: "postgres.js",
  pgbench: "pgbench",
  copy: "COPY (postgres.js)"
} as const

/** Every sample of one operation at one caller count, by contender, and the errors of those that failed. */
export interface CaseResult {
  readonly operation: Operation
  readonly callers: number
  readonly samples: Map<string, Array<Sample>>
  readonly errors: Map<string, string>
}

const throughputOf = (result: CaseResult, contender: string) =>
  median((result.samples.get(contender) ?? []).map((sample) => sample.opsPerSecond))

const cpuOf = (result: CaseResult, contender: string) =>
  median((result.samples.get(contender) ?? []).map((sample) => sample.cpuMicrosPerOp))

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a")
const whole = (value: number) =>
  Number.isFinite(value) ? value.toLocaleString("en", { maximumFractionDigits: value < 100 ? 1 : 0 }) : "n/a"

const labelOf = (operation: Operation) =>
  operation.note === undefined ? operation.name : `${operation.name} (${operation.note})`

const byOperation = (results: ReadonlyArray<CaseResult>) => {
  const groups = new Map<string, Array<CaseResult>>()
  for (const result of results) {
    const group = groups.get(result.operation.name) ?? []
    group.push(result)
    groups.set(result.operation.name, group)
  }
  return [...groups.values()]
}

/** The table: library throughput over each other client's, "1 / 32" callers in one cell. */
export const ratioTable = (results: ReadonlyArray<CaseResult>): string => {
  const lines = [
    "| operation | callers | library ÷ pgbench | library ÷ postgres.js | library ÷ raw @effect/sql-pg |",
    "|---|---:|---:|---:|---:|"
  ]
  for (const group of byOperation(results)) {
    const ratio = (contender: string) =>
      group
        .map((result) => fixed(throughputOf(result, Contenders.library) / throughputOf(result, contender), 2))
        .join(" / ")
    const copy = group
      .filter((result) => result.samples.has(Contenders.copy))
      .map((result) => fixed(throughputOf(result, Contenders.library) / throughputOf(result, Contenders.copy), 2))
    const raw = copy.length === 0 ? ratio(Contenders.raw) : `${ratio(Contenders.raw)} (${copy.join(" / ")} of COPY)`
    lines.push(
      `| ${labelOf(group[0]!.operation)} | ${group.map((result) => result.callers).join(" / ")} | ${ratio(Contenders.pgbench)} | ${ratio(Contenders.postgresJs)} | ${raw} |`
    )
  }
  return lines.join("\n")
}

const perContenderTable = (
  results: ReadonlyArray<CaseResult>,
  contenders: ReadonlyArray<string>,
  cell: (result: CaseResult, contender: string) => string
) => {
  const lines = [
    `| operation | callers | ${contenders.join(" | ")} |`,
    `|---|---:|${contenders.map(() => "---:").join("|")}|`
  ]
  for (const result of results) {
    lines.push(
      `| ${labelOf(result.operation)} | ${result.callers} | ${contenders.map((contender) => cell(result, contender)).join(" | ")} |`
    )
  }
  return lines.join("\n")
}

/** Median operations per second of every contender. */
export const throughputTable = (results: ReadonlyArray<CaseResult>, contenders: ReadonlyArray<string>): string =>
  perContenderTable(results, contenders, (result, contender) =>
    result.errors.has(contender) ? "failed" : whole(throughputOf(result, contender))
  )

/** Median client CPU per operation (µs, user + system) of every contender. */
export const cpuTable = (results: ReadonlyArray<CaseResult>, contenders: ReadonlyArray<string>): string =>
  perContenderTable(results, contenders, (result, contender) => fixed(cpuOf(result, contender), 1))

/** Every failure, so a contender that could not run is not mistaken for a slow one. */
export const errorLines = (results: ReadonlyArray<CaseResult>): ReadonlyArray<string> =>
  results.flatMap((result) =>
    [...result.errors].map(
      ([contender, message]) => `- ${contender}, ${result.operation.name} at ${result.callers}: ${message}`
    )
  )
