import { existsSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const packageName = "platform-kernel"

const isPackageRoot = (directory: string): boolean => {
  const manifest = join(directory, "package.json")
  if (!existsSync(manifest)) return false
  try {
    return JSON.parse(readFileSync(manifest, "utf8")).name === packageName
  } catch {
    return false
  }
}

let root: string | undefined

/**
 * The directory of platform-kernel's own package.json. Found by walking up from this module rather than by a
 * fixed relative path, because the module sits at a different depth in `src/`, in `dist/` and in the
 * bundled CLI (`dist/Main.js`, where every module shares one URL). Read on first use, never at import.
 */
export const packageRoot = (): string => {
  if (root !== undefined) return root
  let directory = dirname(fileURLToPath(import.meta.url))
  while (!isPackageRoot(directory)) {
    const parent = dirname(directory)
    if (parent === directory)
      throw new Error(`${packageName}: no package.json of ${packageName} above ${import.meta.url}`)
    directory = parent
  }
  root = directory
  return root
}

/** A file or directory shipped in the package (`config/default.yaml`, `migrations`, `package.json`). */
export const packageFile = (...segments: ReadonlyArray<string>): string => join(packageRoot(), ...segments)

/** The package's version, from its package.json. */
export const packageVersion = (): string =>
  JSON.parse(readFileSync(packageFile("package.json"), "utf8")).version as string
