/**
 * The public API as text: every name each entry point exports, what it is, and for namespaces and services
 * their members. Checked in as `public-api.txt`; `ApiReport.test.ts` fails when the API changes without it, so
 * every change to what consumers can import is a deliberate one (`UPDATE_API_REPORT=1 npm test` rewrites it).
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

export const ENTRY_POINTS = {
  "platform-kernel": fileURLToPath(new URL("../../src/index.ts", import.meta.url)),
  "platform-kernel/testing": fileURLToPath(new URL("../../src/Database/Testing.ts", import.meta.url))
} as const

export const REPORT_FILE = fileURLToPath(new URL("./public-api.txt", import.meta.url))

const isSchema = (value: unknown): boolean =>
  (typeof value === "function" || (typeof value === "object" && value !== null)) && "ast" in value

const describeValue = (value: unknown): string => {
  if (isSchema(value))
    return typeof value === "function" && /^class /.test(Function.prototype.toString.call(value))
      ? "schema class"
      : "schema"
  if (typeof value === "function") {
    const source = Function.prototype.toString.call(value)
    if (source.startsWith("class ")) return "class"
    // Schema classes, services and tagged errors are functions with static members worth listing.
    return "function"
  }
  if (value === null) return "null"
  if (typeof value === "object") {
    return "object"
  }
  return typeof value
}

const membersOf = (value: unknown): ReadonlyArray<string> => {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return []
  if (isSchema(value)) return []
  return Object.keys(value)
    .filter((key) => !key.startsWith("~") && !key.startsWith("_"))
    .sort()
}

/** Names the entry exports as types only (`export type { X }` or `type X` inside an export list). */
const typeOnlyExports = (source: string): ReadonlyArray<string> => {
  const names = new Set<string>()
  for (const match of source.matchAll(/export\s+type\s*\{([^}]*)\}/g)) {
    for (const name of match[1]!.split(",")) {
      const trimmed = name
        .trim()
        .split(/\s+as\s+/)
        .pop()
      if (trimmed) names.add(trimmed)
    }
  }
  for (const match of source.matchAll(/export\s*\{([^}]*)\}/g)) {
    for (const part of match[1]!.split(",")) {
      const typed = /^\s*type\s+(\w+)(?:\s+as\s+(\w+))?\s*$/.exec(part)
      if (typed) names.add(typed[2] ?? typed[1]!)
    }
  }
  return [...names].sort()
}

export const makeReport = async (): Promise<string> => {
  const lines: Array<string> = []
  for (const [entry, file] of Object.entries(ENTRY_POINTS)) {
    const module: Record<string, unknown> = await import(file)
    lines.push(`# ${entry}`, "")
    for (const name of Object.keys(module).sort()) {
      const value = module[name]
      const members = membersOf(value)
      lines.push(`${name}: ${describeValue(value)}${members.length > 0 ? ` { ${members.join(", ")} }` : ""}`)
    }
    const types = typeOnlyExports(readFileSync(file, "utf8")).filter((name) => !(name in module))
    if (types.length > 0) lines.push("", `types: ${types.join(", ")}`)
    lines.push("")
  }
  return lines.join("\n")
}

/**
 * The public names whose declaration has no doc comment: each entry's `export { … } from` and
 * `export * as X from` lists are followed to the module that declares the name.
 */
export const undocumentedExports = (): ReadonlyArray<string> => {
  const missing: Array<string> = []
  const declarationOf = (name: string) =>
    new RegExp(`^export\\s+(?:declare\\s+)?(?:const|function|class|type|interface|abstract class)\\s+${name}\\b`, "m")
  const check = (file: string, name: string) => {
    const source = readFileSync(file, "utf8")
    const match = declarationOf(name).exec(source)
    if (match === null) return
    if (!source.slice(0, match.index).trimEnd().endsWith("*/"))
      missing.push(`${name} (${file.replace(/^.*\/src\//, "src/")})`)
  }
  for (const entry of Object.values(ENTRY_POINTS)) {
    const source = readFileSync(entry, "utf8")
    const resolve = (specifier: string) => fileURLToPath(new URL(specifier, `file://${entry}`))
    for (const match of source.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}\s+from\s+"([^"]+)"/g)) {
      for (const part of match[1]!.split(",")) {
        const name = part
          .replace(/^\s*type\s+/, "")
          .split(/\s+as\s+/)[0]!
          .trim()
        if (name !== "") check(resolve(match[2]!), name)
      }
    }
    for (const match of source.matchAll(/export\s+\*\s+as\s+\w+\s+from\s+"([^"]+)"/g)) {
      const file = resolve(match[1]!)
      for (const declared of readFileSync(file, "utf8").matchAll(
        /^export\s+(?:const|function|class|type|interface)\s+(\w+)/gm
      )) {
        check(file, declared[1]!)
      }
    }
  }
  return missing
}
