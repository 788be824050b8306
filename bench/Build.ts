/**
 * The built package (`dist/`), rebuilt when any source is newer: the memory figure and `serve`'s readiness
 * are measured on what a service runs, not on the sources through Node's type stripping.
 */
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

/** The package's entry as built. */
export const builtLibrary = join(root, "dist", "index.js")
const builtCli = join(root, "dist", "Main.js")

const newestSource = (directory: string): number =>
  Math.max(
    0,
    ...readdirSync(directory, { withFileTypes: true }).map((entry) => {
      const path = join(directory, entry.name)
      return entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs
    })
  )

/** Builds `dist/` unless it is newer than every file under `src/`. */
export const ensureBuilt = (log: (line: string) => void): void => {
  const built = [builtLibrary, builtCli].map((path) => (existsSync(path) ? statSync(path).mtimeMs : 0))
  if (Math.min(...built) > newestSource(join(root, "src"))) return
  log("building dist/ (it is older than src/)")
  execFileSync("npm", ["run", "-s", "build"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] })
}
