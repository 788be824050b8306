/**
 * `npm run bench:decoders`: CPU time per decode of the row and input schemas (issue 18), each way in a process
 * of its own (the compilers install into one global registry, and a parser keeps the entry it captured):
 * - `hand`: the trusted decoders of src/Database/Postgres/Rows.ts (and, for ids, a plain UUID test);
 * - `interpreted`: `Schema.decodeUnknownExit` / `Schema.is` of the Model's schema as effect ships it;
 * - `jit`: the same after `SchemaJITCompiler.enable(ast)` on every schema;
 * - `aot`: the same after installing `SchemaAOTCompiler.compile` output (written to a temporary module).
 * Each case decodes BENCH_DECODE_ROWS (default 200,000) values after a warm-up of a tenth as many; CPU from
 * `process.cpuUsage` (user + system), so a loaded machine stretches the wall clock but not these figures much.
 * Prints ns per value, and how many values each way refused (a decoder that refuses valid rows would be fast
 * for the wrong reason).
 */
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Exit, Schema, type SchemaAST } from "effect"
import { SchemaAOTCompiler, SchemaJITCompiler } from "effect/schema"
import { AuditEntry } from "../src/Database/Front/RepositoryInputs.ts"
import { UserWithAccessRowSchema } from "../src/Database/Postgres/AccessRows.ts"
import {
  auditLogFromRow,
  permissionFromRow,
  roleFromRow,
  userFromRow,
  userWithAccessFromRow
} from "../src/Database/Postgres/Rows.ts"
import { AuditLog, Email, Permission, PermissionName, Role, User, UserId } from "../src/Domain/index.ts"

type Mode = "hand" | "interpreted" | "jit" | "aot"
const modes: ReadonlyArray<Mode> = ["hand", "interpreted", "jit", "aot"]
const count = Number(process.env.BENCH_DECODE_ROWS || (process.env.BENCH_SMOKE === "1" ? 2_000 : 200_000))

// Rows as the driver returns them (after the camelCase renaming), valid, a little different each.
const at = new Date("2026-12-07T10:00:00.123Z")
const uuid = (n: number) => `0193f3a0-0000-7000-8000-${n.toString(16).padStart(12, "0")}`
const userRow = (n: number) => ({
  id: uuid(n),
  email: `user${n}@example.io`,
  passwordHash: `$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$${n}`,
  verified: n % 2 === 0,
  createdAt: at,
  updatedAt: at
})
const roleRow = (n: number) => ({ id: uuid(n), name: `role-${n}`, description: "a role", createdAt: at })
const permissionRow = (n: number) => ({
  id: uuid(n),
  name: `iam.users.read${n}`,
  description: "a permission",
  createdAt: at
})
const auditRow = (n: number) => ({
  id: uuid(n),
  actorId: n % 3 === 0 ? null : uuid(n + 1),
  action: "user.created",
  targetId: `target-${n}`,
  metadata: { n, tags: ["a", "b"], nested: { ok: true } },
  timestamp: at
})
const json = (row: { readonly createdAt: Date }) => ({ ...row, createdAt: row.createdAt.toISOString() })
const accessRow = (n: number) => ({
  user: userRow(n),
  roles: [0, 1].map((r) => ({
    role: json(roleRow(n + r)),
    permissions: [0, 1, 2].map((p) => json(permissionRow(n + 10 * r + p)))
  }))
})

interface Case {
  readonly name: string
  readonly schema: Schema.Top
  readonly value: (n: number) => unknown
  readonly hand: ((value: never) => unknown) | undefined
  /** `is` (a check) rather than a decode. */
  readonly check?: boolean
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const cases: ReadonlyArray<Case> = [
  { name: "User row", schema: User, value: userRow, hand: userFromRow },
  { name: "Role row", schema: Role, value: roleRow, hand: roleFromRow },
  { name: "Permission row", schema: Permission, value: permissionRow, hand: permissionFromRow },
  { name: "AuditLog row", schema: AuditLog, value: auditRow, hand: auditLogFromRow },
  {
    name: "findWithAccess row (2 roles × 3 permissions)",
    schema: UserWithAccessRowSchema,
    value: accessRow,
    hand: userWithAccessFromRow
  },
  {
    name: "UserId argument (is)",
    schema: UserId,
    value: uuid,
    hand: (id: string) => (uuidPattern.test(id) ? id : undefined),
    check: true
  },
  {
    name: "PermissionName argument (is)",
    schema: PermissionName,
    value: (n) => `iam.users.read${n}`,
    hand: undefined,
    check: true
  },
  { name: "Email input", schema: Email, value: (n) => `User${n}@Example.io`, hand: undefined },
  {
    name: "audit append entry input",
    schema: AuditEntry,
    value: (n) => ({ action: "user.created", targetId: `t-${n}`, metadata: { n }, actorId: uuid(n) }),
    hand: undefined
  }
]

const decoderOf = (mode: Mode, item: Case): ((value: unknown) => boolean) | undefined => {
  if (mode === "hand") {
    const hand = item.hand as ((value: unknown) => unknown) | undefined
    return hand === undefined ? undefined : (value) => hand(value) !== undefined
  }
  if (item.check) {
    const is = Schema.is(item.schema as Schema.Top & Schema.Constraint)
    return (value) => is(value)
  }
  const decode = Schema.decodeUnknownExit(item.schema as Schema.Decoder<unknown>)
  return (value) => Exit.isSuccess(decode(value))
}

const runMode = async (mode: Mode) => {
  const asts: ReadonlyArray<SchemaAST.AST> = cases.map((item) => item.schema.ast)
  if (mode === "jit") for (const ast of asts) SchemaJITCompiler.enable(ast)
  if (mode === "aot") {
    const targets = asts.map((ast, index) => ({
      ast,
      operations: cases[index]!.check ? (["is"] as const) : (["decode"] as const)
    }))
    // Inside the project (.scratch/ is ignored by git), so the generated module resolves `effect` as we do.
    const scratch = fileURLToPath(new URL("../.scratch/", import.meta.url))
    mkdirSync(scratch, { recursive: true })
    const file = join(mkdtempSync(join(scratch, "aot-")), "decoders.mjs")
    writeFileSync(file, SchemaAOTCompiler.compile(targets))
    const generated: { readonly install: (asts: ReadonlyArray<SchemaAST.AST>) => void } = await import(file)
    generated.install(asts)
  }
  const results: Record<string, { readonly nsPerValue: number; readonly refused: number } | null> = {}
  for (const item of cases) {
    const decode = decoderOf(mode, item)
    if (decode === undefined) {
      results[item.name] = null
      continue
    }
    const values = Array.from({ length: 1_000 }, (_, n) => item.value(n))
    for (let i = 0; i < count / 10; i++) decode(values[i % values.length])
    let refused = 0
    const cpu = process.cpuUsage()
    for (let i = 0; i < count; i++) if (!decode(values[i % values.length])) refused++
    const used = process.cpuUsage(cpu)
    results[item.name] = { nsPerValue: ((used.user + used.system) * 1000) / count, refused }
  }
  process.stdout.write(`${JSON.stringify(results)}\n`)
}

const mode = process.argv[2] as Mode | undefined
if (mode !== undefined) await runMode(mode)
else {
  const self = fileURLToPath(import.meta.url)
  const byMode = new Map<Mode, Record<string, { nsPerValue: number; refused: number } | null>>()
  for (const each of modes) {
    const child = spawnSync(process.execPath, [self, each], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
    if (child.status !== 0) throw new Error(`decoders (${each}) exited with ${child.status}`)
    byMode.set(each, JSON.parse(child.stdout.trim().split("\n").at(-1)!))
  }
  const cell = (figure: { nsPerValue: number; refused: number } | null | undefined) =>
    figure == null ? "–" : `${figure.nsPerValue.toFixed(0)}${figure.refused > 0 ? ` (${figure.refused} refused)` : ""}`
  const lines = [
    `## Decoders: CPU ns per value, ${count.toLocaleString("en")} values each`,
    "",
    `| value | ${modes.join(" | ")} | interpreted ÷ hand | jit ÷ hand |`,
    `|---|${modes.map(() => "---:").join("|")}|---:|---:|`,
    ...cases.map((item) => {
      const hand = byMode.get("hand")?.[item.name]
      const ratio = (other: Mode) => {
        const figure = byMode.get(other)?.[item.name]
        return hand == null || figure == null ? "–" : `${(figure.nsPerValue / hand.nsPerValue).toFixed(1)}×`
      }
      return `| ${item.name} | ${modes.map((each) => cell(byMode.get(each)?.[item.name])).join(" | ")} | ${ratio("interpreted")} | ${ratio("jit")} |`
    })
  ]
  process.stdout.write(`${lines.join("\n")}\n`)
}
