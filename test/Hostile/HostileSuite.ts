import { assert, layer } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Layer, Option } from "effect"
import fc from "fast-check"
import { AuditLogRepository } from "../../src/Database/Repositories/AuditLogRepository.ts"
import { PermissionRepository } from "../../src/Database/Repositories/PermissionRepository.ts"
import { RoleRepository } from "../../src/Database/Repositories/RoleRepository.ts"
import { Transactions } from "../../src/Database/Repositories/Transactions.ts"
import { UserRepository } from "../../src/Database/Repositories/UserRepository.ts"
import type { ContractServices } from "../Contract/Fixtures.ts"
import { HostileFixtures, type HostileServices, type MethodCase, methodCases, methodNames } from "./HostileCases.ts"

/** Counts the rows of every table, as the calling fiber sees them (inside its transaction). */
export class RowCounts extends Context.Service<RowCounts, Effect.Effect<Readonly<Record<string, number>>, unknown>>()(
  "test/Hostile/RowCounts"
) {}

// Replay a failure with FC_SEED (and FC_RUNS for more cases); the seed is printed with every failure.
const seed = process.env.FC_SEED === undefined ? 20_260_110 : Number(process.env.FC_SEED)
const numRuns = process.env.FC_RUNS === undefined ? 300 : Number(process.env.FC_RUNS)
/** `HOSTILE_TALLY=1`: run every case and report the counts of each kind of problem, instead of stopping at the first. */
const tally = process.env.HOSTILE_TALLY === "1"
/** A call that takes longer than this is counted as a hang. */
const callTimeout = "30 seconds"

interface Tally {
  cases: number
  successes: number
  typedFailures: number
  defects: number
  hangs: number
  alterations: number
  rowsWrittenOnRejection: number
  undeclaredErrors: number
  firstProblem: string | undefined
}

const emptyTally = (): Tally => ({
  cases: 0,
  successes: 0,
  typedFailures: 0,
  defects: 0,
  hangs: 0,
  alterations: 0,
  rowsWrittenOnRejection: 0,
  undeclaredErrors: 0,
  firstProblem: undefined
})

/** A short, safe rendering of generated arguments (they may throw when read, or be 1 MiB long). */
export const describeValue = (value: unknown, depth = 0): string => {
  try {
    if (typeof value === "string")
      return value.length > 60 ? `${JSON.stringify(value.slice(0, 60))}…(${value.length} chars)` : JSON.stringify(value)
    if (typeof value === "bigint") return `${value}n`
    if (typeof value === "symbol" || typeof value === "function") return String(value)
    if (typeof value !== "object" || value === null) return String(value)
    if (depth > 2) return Array.isArray(value) ? "[…]" : "{…}"
    if (Array.isArray(value))
      return `[${value
        .slice(0, 5)
        .map((item) => describeValue(item, depth + 1))
        .join(", ")}${value.length > 5 ? `, …(${value.length} items)` : ""}]`
    const keys = Object.keys(value)
    const name = Object.getPrototypeOf(value)?.constructor?.name
    const prefix = name === undefined || name === "Object" ? "" : `${name} `
    return `${prefix}{${keys
      .slice(0, 6)
      .map((key) => `${JSON.stringify(key)}: ${describeValue((value as Record<string, unknown>)[key], depth + 1)}`)
      .join(", ")}${keys.length > 6 ? ", …" : ""}}`
  } catch {
    return "<an object that throws when read>"
  }
}

const describeArgs = (args: ReadonlyArray<unknown>) => `(${args.map((arg) => describeValue(arg)).join(", ")})`

/** A success, a typed failure, or neither (a defect, a hang). */
type Outcome = "success" | "typed failure" | "neither"

/** Rolls the case's transaction back once its outcome is known. */
class Rollback {
  readonly problems: ReadonlyArray<readonly [keyof Tally, string]>
  readonly outcome: Outcome
  constructor(outcome: Outcome, problems: ReadonlyArray<readonly [keyof Tally, string]>) {
    this.outcome = outcome
    this.problems = problems
  }
}

const changedTables = (before: Readonly<Record<string, number>>, after: Readonly<Record<string, number>>) =>
  Object.keys(before).filter((table) => before[table] !== after[table])

/**
 * One call with generated arguments, in a transaction that is always rolled back: its outcome must be a
 * success that reads back as given, or a typed error the method declares, with no row written; never a
 * defect, never a hang.
 */
const runCase = (method: MethodCase, args: ReadonlyArray<unknown>) =>
  Effect.gen(function* () {
    const transactions = yield* Transactions
    const counts = yield* RowCounts
    const attempt = Effect.gen(function* () {
      const before = yield* counts
      const exit = yield* Effect.exit(
        Effect.suspend(() => method.call(...args)).pipe(Effect.timeoutOption(callTimeout))
      )
      if (Exit.isSuccess(exit)) {
        if (Option.isNone(exit.value))
          return yield* Effect.fail(new Rollback("neither", [["hangs", `no answer within ${callTimeout}`]]))
        const verified =
          method.verify === undefined
            ? Exit.succeed(undefined)
            : yield* Effect.exit(method.verify(args, exit.value.value))
        const problem = Exit.isSuccess(verified)
          ? verified.value
          : `reading back failed: ${Cause.pretty(verified.cause).split("\n")[0]}`
        return yield* Effect.fail(new Rollback("success", problem === undefined ? [] : [["alterations", problem]]))
      }
      const error = Cause.findErrorOption(exit.cause)
      if (Option.isNone(error) || Cause.hasDies(exit.cause))
        return yield* Effect.fail(new Rollback("neither", [["defects", Cause.pretty(exit.cause).split("\n")[0]!]]))
      const problems: Array<readonly [keyof Tally, string]> = []
      const tag = (error.value as { readonly _tag?: unknown })._tag
      if (typeof tag !== "string" || !method.errors.includes(tag))
        problems.push(["undeclaredErrors", `failed with ${describeValue(error.value)}`])
      else if (tag === "InvalidInput") {
        const invalid = error.value as { readonly field?: unknown; readonly rule?: unknown }
        if (typeof invalid.field !== "string" || invalid.field === "" || typeof invalid.rule !== "string")
          problems.push(["undeclaredErrors", `InvalidInput without a field and a rule: ${describeValue(invalid)}`])
      }
      const after = yield* Effect.exit(counts)
      if (Exit.isFailure(after)) problems.push(["defects", "the rows could not be counted after the call"])
      else {
        const changed = changedTables(before, after.value)
        if (changed.length > 0)
          problems.push(["rowsWrittenOnRejection", `rows written although it failed with ${String(tag)}: ${changed}`])
      }
      return yield* Effect.fail(new Rollback("typed failure", problems))
    })
    const result = yield* Effect.exit(transactions.withTransaction(attempt))
    if (Exit.isFailure(result)) {
      const failure = Cause.findErrorOption(result.cause)
      if (Option.isSome(failure) && failure.value instanceof Rollback) return failure.value
      return new Rollback("neither", [
        ["defects", `the case's transaction failed: ${Cause.pretty(result.cause).split("\n")[0]}`]
      ])
    }
    return new Rollback("neither", [["defects", "the case was not rolled back"]])
  })

/** The property of one method: `numRuns` generated calls, each with no problem. */
const checkMethod = (method: MethodCase, counts: Tally) =>
  Effect.gen(function* () {
    const services = yield* Effect.context<HostileServices | RowCounts>()
    const run = Effect.runPromiseWith(services)
    const property = fc.asyncProperty(method.args, async (args) => {
      const outcome = await run(runCase(method, args))
      counts.cases++
      if (outcome.outcome === "success") counts.successes++
      if (outcome.outcome === "typed failure") counts.typedFailures++
      for (const [kind, problem] of outcome.problems) {
        ;(counts[kind] as number)++
        counts.firstProblem ??= `${method.name}${describeArgs(args)}: ${problem}`
      }
      return tally || outcome.problems.length === 0
    })
    yield* Effect.promise(() =>
      fc.assert(property, {
        seed,
        numRuns,
        endOnFailure: true,
        reporter: (details) => {
          if (!details.failed) return
          const args = details.counterexample === null ? "" : describeArgs(details.counterexample[0])
          const problem = counts.firstProblem ?? `${method.name}${args}: ${String(details.errorInstance)}`
          throw new Error(
            `${problem}\nReplay with FC_SEED=${details.seed} (counterexample path ${details.counterexamplePath}, ${details.numRuns} runs)`
          )
        }
      })
    )
  })

const columns = [
  ["cases", "cases"],
  ["successes", "success"],
  ["typedFailures", "typed"],
  ["defects", "defects"],
  ["hangs", "hangs"],
  ["alterations", "altered"],
  ["rowsWrittenOnRejection", "rows"],
  ["undeclaredErrors", "undecl."]
] as const

const report = (name: string, tallies: ReadonlyMap<string, Tally>) => {
  const total = emptyTally()
  for (const counts of tallies.values()) for (const [column] of columns) total[column] += counts[column]
  const problems =
    total.defects + total.hangs + total.alterations + total.rowsWrittenOnRejection + total.undeclaredErrors
  const line = (label: string, counts: Tally) =>
    `${label.padEnd(40)} ${columns.map(([column]) => String(counts[column]).padStart(9)).join("")}`
  const table = [
    `hostile input on ${name}: seed ${seed}, ${numRuns} cases per method`,
    `${"method".padEnd(40)} ${columns.map(([, label]) => label.padStart(9)).join("")}`,
    ...(tally || problems > 0 ? [...tallies].map(([method, counts]) => line(method, counts)) : []),
    line("total", total),
    ...(tally
      ? [...tallies.values()].flatMap((counts) =>
          counts.firstProblem === undefined ? [] : [`  ${counts.firstProblem}`]
        )
      : [])
  ]
  console.log(table.join("\n"))
  return total
}

/**
 * Hostile input through every public method of the repositories of `layerUnderTest`: `numRuns` (300) generated
 * calls per method, seeded, each in a transaction rolled back afterwards.
 */
export const hostileInputSuite = (name: string, layerUnderTest: Layer.Layer<ContractServices | RowCounts, unknown>) =>
  layer(HostileFixtures.layer.pipe(Layer.provideMerge(layerUnderTest)), {
    excludeTestServices: true,
    timeout: "120 seconds"
  })(`hostile input: ${name}`, (it) => {
    const tallies = new Map<string, Tally>()

    it.effect("covers every public method of the repositories", () =>
      Effect.gen(function* () {
        const services = [
          yield* UserRepository,
          yield* RoleRepository,
          yield* PermissionRepository,
          yield* AuditLogRepository
        ]
        const names = ["UserRepository", "RoleRepository", "PermissionRepository", "AuditLogRepository"]
        const publicMethods = services.flatMap((service, index) =>
          Object.keys(service).map((method) => `${names[index]}.${method}`)
        )
        const covered = methodCases(yield* HostileFixtures).map((method) => method.name)
        assert.deepStrictEqual([...covered].sort(), [...publicMethods].sort())
        assert.deepStrictEqual([...methodNames].sort(), [...publicMethods].sort())
      })
    )

    for (const methodName of methodNames)
      it.effect(methodName, () =>
        Effect.gen(function* () {
          const method = methodCases(yield* HostileFixtures).find((candidate) => candidate.name === methodName)!
          const counts = emptyTally()
          tallies.set(methodName, counts)
          yield* checkMethod(method, counts)
          assert.strictEqual(counts.cases, numRuns)
        })
      )

    it("has no defect, hang, alteration or row written on rejection", () => {
      const total = report(name, tallies)
      assert.strictEqual(tallies.size, methodNames.length)
      assert.deepStrictEqual(
        {
          defects: total.defects,
          hangs: total.hangs,
          alterations: total.alterations,
          rowsWrittenOnRejection: total.rowsWrittenOnRejection,
          undeclaredErrors: total.undeclaredErrors
        },
        { defects: 0, hangs: 0, alterations: 0, rowsWrittenOnRejection: 0, undeclaredErrors: 0 },
        total.firstProblem
      )
    })
  })
