/** Reads a V8 .cpuprofile (node --cpu-prof) into self time per function and per package. */
import { readFileSync } from "node:fs"

interface ProfileNode {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
  }
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

export interface SelfTime {
  readonly name: string
  readonly millis: number
  readonly share: number
}

const packageOf = (url: string): string => {
  if (url === "") return "(V8: native, GC, idle)"
  if (url.startsWith("node:")) return "node internals"
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  if (inModules !== null) return inModules[1]!
  if (url.includes("/src/")) return "platform-kernel src"
  if (url.includes("/bench/")) return "bench harness"
  return url
}

const shortUrl = (url: string) => url.replace(/^file:\/\/.*?\/(node_modules|src|bench)\//, "$1/")

const ranked = (totals: Map<string, number>, all: number, top: number): ReadonlyArray<SelfTime> =>
  [...totals]
    .sort(([, a], [, b]) => b - a)
    .slice(0, top)
    .map(([name, micros]) => ({ name, millis: micros / 1000, share: micros / all }))

/** The `top` functions and the packages by self time (each sample's time goes to the function on top). */
export const summarizeProfile = (path: string, top = 20) => {
  const profile: Profile = JSON.parse(readFileSync(path, "utf8"))
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const byFunction = new Map<string, number>()
  const byPackage = new Map<string, number>()
  let all = 0
  profile.samples.forEach((id, index) => {
    const node = nodes.get(id)
    const micros = profile.timeDeltas[index] ?? 0
    if (node === undefined) return
    const { functionName, url, lineNumber } = node.callFrame
    const name = `${functionName || "(anonymous)"} ${url === "" ? "" : `${shortUrl(url)}:${lineNumber + 1}`}`.trim()
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros)
    byPackage.set(packageOf(url), (byPackage.get(packageOf(url)) ?? 0) + micros)
    all += micros
  })
  return { functions: ranked(byFunction, all, top), packages: ranked(byPackage, all, top), totalMillis: all / 1000 }
}
