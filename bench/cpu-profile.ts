/**
 * `npm run bench:profile`: where the library's client CPU goes. The library in a process of its own under
 * `node --cpu-prof`, running one operation (BENCH_PROFILE_OPERATION, default hasPermission) at 32 callers
 * (BENCH_PROFILE_CALLERS)
 * for BENCH_SECONDS (default 10) on the seeded benchmark database; prints the top self-time functions and
 * packages. The .cpuprofile is kept (path printed) for a flame graph in Chrome DevTools.
 */
import { mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { summarizeProfile } from "./CpuProfile.ts"
import { runLoadChild } from "./Memory.ts"
import { withBenchDatabase } from "./Server.ts"
import { readSettings } from "./Settings.ts"
import { prepare } from "./Setup.ts"

const settings = readSettings()
const operation = process.env.BENCH_PROFILE_OPERATION || "hasPermission"
const seconds = Number(process.env.BENCH_SECONDS || 10)
const callers = Number(process.env.BENCH_PROFILE_CALLERS || 32)
const directory = mkdtempSync(join(tmpdir(), "platform-kernel-profile-"))

await withBenchDatabase(async (database) => {
  const { library } = await prepare(database.url, settings.volume)
  const poolSize = library.poolSize
  await library.close()
  const run = await runLoadChild(
    {
      kind: "library",
      url: database.url,
      seconds,
      callers,
      poolSize,
      operations: [operation],
      volume: settings.volume
    },
    ["--cpu-prof", "--cpu-prof-dir", directory]
  )
  const file = readdirSync(directory).find((name) => name.endsWith(".cpuprofile"))
  if (file === undefined) throw new Error(`no .cpuprofile in ${directory}`)
  const { functions, packages, totalMillis } = summarizeProfile(join(directory, file))
  const row = ({ name, millis, share }: { name: string; millis: number; share: number }) =>
    `| ${name} | ${millis.toFixed(0)} | ${(share * 100).toFixed(1)}% |`
  process.stdout.write(
    [
      `## CPU profile: library ${operation} at ${callers} caller(s), ${seconds} s, ${(run.ops / seconds).toFixed(0)} ops/s, ${totalMillis.toFixed(0)} ms sampled`,
      `Profile: ${join(directory, file)}`,
      "",
      "| package | self ms | share |",
      "|---|---:|---:|",
      ...packages.map(row),
      "",
      "| function | self ms | share |",
      "|---|---:|---:|",
      ...functions.map(row),
      ""
    ].join("\n")
  )
})
