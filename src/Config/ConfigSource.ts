import { Predicate } from "effect"
import { parse as parseYaml } from "yaml"

/** Where a configuration value came from, so an error can send the operator to the right place. */
export type ValueSource =
  | { readonly _tag: "File"; readonly path: string }
  | { readonly _tag: "Env"; readonly name: string }

export interface RawConfig {
  readonly values: Record<string, unknown>
  /** Dotted key path -> source of every value that came from the environment. */
  readonly envSources: ReadonlyMap<string, string>
  readonly file: ConfigFile
}

/** The file a value can come from: the operator's file for the keys it sets, else the bundled defaults. */
export interface ConfigFile {
  readonly path: string
  /** Dotted paths of the keys the file itself sets. */
  readonly keys: ReadonlySet<string>
  readonly defaultsPath: string
}

const isMapping = (value: unknown): value is Record<string, unknown> =>
  Predicate.isObject(value) && !Array.isArray(value)

/** `own` laid over `base`: mappings merge key by key, anything else (lists included) replaces. */
export const mergeOver = (base: Record<string, unknown>, own: Record<string, unknown>): Record<string, unknown> => {
  const result: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(own)) {
    const under = result[key]
    result[key] = isMapping(under) && isMapping(value) ? mergeOver(under, value) : value
  }
  return result
}

export const leafPaths = (values: Record<string, unknown>, prefix: ReadonlyArray<string> = []): ReadonlySet<string> => {
  const paths = new Set<string>()
  for (const [key, value] of Object.entries(values)) {
    const path = [...prefix, key]
    if (isMapping(value)) for (const nested of leafPaths(value, path)) paths.add(nested)
    else paths.add(path.join("."))
  }
  return paths
}

/** `database.pool.maxConnections` -> `DATABASE_POOL_MAX_CONNECTIONS`. */
export const envNameOf = (path: ReadonlyArray<string>): string =>
  path.map((segment) => segment.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()).join("_")

export const parseYamlDocument = (text: string, filePath: string): Record<string, unknown> => {
  const document: unknown = parseYaml(text)
  if (document === null || document === undefined) return {}
  if (!Predicate.isObject(document) || Array.isArray(document)) {
    throw new Error(`${filePath}: expected a YAML mapping at the top level`)
  }
  return document as Record<string, unknown>
}

/** Environment strings take the type of the file's value, so `"10"` overrides `10` as a number. */
const coerceEnvValue = (raw: string, like: unknown): unknown => {
  if (Predicate.isNumber(like)) {
    const trimmed = raw.trim()
    return trimmed !== "" && Number.isFinite(Number(trimmed)) ? Number(trimmed) : raw
  }
  if (Predicate.isBoolean(like)) {
    const normalised = raw.trim().toLowerCase()
    if (["true", "1", "yes", "on"].includes(normalised)) return true
    if (["false", "0", "no", "off"].includes(normalised)) return false
    return raw
  }
  if (Array.isArray(like) || Predicate.isObject(like)) {
    try {
      return JSON.parse(raw)
    } catch {
      return raw
    }
  }
  return raw
}

/**
 * Overlays environment variables on the file's values. Every key of the file can be overridden by the
 * constant-case name of its path; the file must therefore hold every key (config/default.yaml does).
 */
export const overlayEnv = (
  fileValues: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
  file: ConfigFile
): RawConfig => {
  const envSources = new Map<string, string>()
  const visit = (node: Record<string, unknown>, path: ReadonlyArray<string>): Record<string, unknown> => {
    const result: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(node)) {
      const keyPath = [...path, key]
      const name = envNameOf(keyPath)
      const fromEnv = env[name]
      if (fromEnv !== undefined) {
        envSources.set(keyPath.join("."), name)
        result[key] = coerceEnvValue(fromEnv, value)
      } else if (Predicate.isObject(value) && !Array.isArray(value)) {
        result[key] = visit(value as Record<string, unknown>, keyPath)
      } else {
        result[key] = value
      }
    }
    return result
  }
  return { values: visit(fileValues, []), envSources, file }
}

export const sourceOf = (raw: RawConfig, path: ReadonlyArray<PropertyKey>): ValueSource => {
  const segments = path.map(String)
  // A nested key inherits the source of an overridden parent (e.g. RBAC_ROLES given as JSON).
  for (let length = segments.length; length > 0; length--) {
    const name = raw.envSources.get(segments.slice(0, length).join("."))
    if (name !== undefined) return { _tag: "Env", name }
  }
  const key = segments.join(".")
  const ownKey = [...raw.file.keys].some((own) => own === key || own.startsWith(`${key}.`) || key.startsWith(`${own}.`))
  return { _tag: "File", path: ownKey ? raw.file.path : raw.file.defaultsPath }
}

export const valueAt = (values: unknown, path: ReadonlyArray<PropertyKey>): unknown =>
  path.reduce<unknown>(
    (node, segment) => (Predicate.isObject(node) ? (node as Record<PropertyKey, unknown>)[segment] : undefined),
    values
  )
