import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"

const srcRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../src")

const sourceFiles = (directory: string): Array<string> =>
  readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith(".ts") ? [path] : []
  })

// Static imports and re-exports, type-only ones included (`import type`, `export ... from`), and dynamic
// `import("./x.ts")`: a module that needs another's types still depends on it.
const importPattern = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g

/** Each module of `src` and the modules of `src` it imports, by path relative to `src`. */
const importGraph = (): ReadonlyMap<string, ReadonlyArray<string>> => {
  const graph = new Map<string, Array<string>>()
  for (const file of sourceFiles(srcRoot)) {
    const text = readFileSync(file, "utf8")
    const targets = [...text.matchAll(importPattern)].map((match) =>
      relative(srcRoot, resolve(dirname(file), match[1]!))
    )
    graph.set(relative(srcRoot, file), targets)
  }
  return graph
}

/**
 * The modules that lie on a cycle, grouped by strongly connected component (Tarjan): two modules share a
 * group when each reaches the other. A module importing itself is a group of one.
 */
const cyclesOf = (graph: ReadonlyMap<string, ReadonlyArray<string>>): Array<ReadonlyArray<string>> => {
  const index = new Map<string, number>()
  const lowLink = new Map<string, number>()
  const stack: Array<string> = []
  const groups: Array<ReadonlyArray<string>> = []
  const connect = (module: string) => {
    index.set(module, index.size)
    lowLink.set(module, index.get(module)!)
    stack.push(module)
    for (const target of graph.get(module) ?? []) {
      if (!index.has(target)) {
        connect(target)
        lowLink.set(module, Math.min(lowLink.get(module)!, lowLink.get(target)!))
      } else if (stack.includes(target)) {
        lowLink.set(module, Math.min(lowLink.get(module)!, index.get(target)!))
      }
    }
    if (lowLink.get(module) !== index.get(module)) return
    const group = stack.splice(stack.indexOf(module))
    if (group.length > 1 || (graph.get(module) ?? []).includes(module)) groups.push(group.sort())
  }
  for (const module of graph.keys()) if (!index.has(module)) connect(module)
  return groups
}

describe("src import graph", () => {
  it("finds a cycle when there is one (the check itself works)", () => {
    const graph = new Map([
      ["A.ts", ["B.ts"]],
      ["B.ts", ["C.ts"]],
      ["C.ts", ["A.ts"]],
      ["D.ts", ["A.ts"]]
    ])
    assert.deepStrictEqual(cyclesOf(graph), [["A.ts", "B.ts", "C.ts"]])
  })

  it("resolves every relative import to a module of src", () => {
    const graph = importGraph()
    assert.isAbove(graph.size, 50)
    const unresolved = [...graph].flatMap(([module, targets]) =>
      targets.filter((target) => !graph.has(target)).map((target) => `${module} imports ${target}`)
    )
    assert.deepStrictEqual(unresolved, [])
  })

  it("has no import cycle: no module imports one that imports it back", () => {
    assert.deepStrictEqual(cyclesOf(importGraph()), [])
  })
})
