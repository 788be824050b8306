/**
 * The snake_case → camelCase renaming of result columns, made cheap: a result has a handful of distinct column
 * names, so each is converted once and remembered, and rows are renamed with a plain loop (the driver's default
 * transform builds an entry array per column of every row and converts every name again).
 */

// Column names are few (one per column of the schema and alias of a statement); past this many distinct ones,
// names are converted without being remembered, so no input can grow the cache without bound.
const maxRemembered = 10_000

/** `rename`, remembering its answers: for pure functions of a column name only. */
export const rememberNames = (rename: (name: string) => string): ((name: string) => string) => {
  const known = new Map<string, string>()
  return (name) => {
    let renamed = known.get(name)
    if (renamed === undefined) {
      renamed = rename(name)
      if (known.size < maxRemembered) known.set(name, renamed)
    }
    return renamed
  }
}

/**
 * Renames the columns of each row with `rename` (shallow: json values keep their keys), as
 * `Statement.defaultTransforms(rename, false).array` does: nested arrays (rows of rows) are renamed too, values
 * that are not objects are kept, and a column named `__proto__` stays an own property.
 */
export const renameColumns = (rename: (name: string) => string) => {
  const renamed = rememberNames(rename)
  const renameRows = <A extends object>(rows: ReadonlyArray<A>): ReadonlyArray<A> => {
    const out: Array<A> = new Array(rows.length)
    for (let index = 0; index < rows.length; index++) {
      const row = rows[index] as A
      if (Array.isArray(row)) out[index] = renameRows(row) as unknown as A
      else if (row === null || typeof row !== "object") out[index] = row
      else {
        const source = row as Record<string, unknown>
        const target: Record<string, unknown> = {}
        for (const key of Object.keys(source)) {
          const name = renamed(key)
          if (name === "__proto__")
            Object.defineProperty(target, name, {
              value: source[key],
              enumerable: true,
              writable: true,
              configurable: true
            })
          else target[name] = source[key]
        }
        out[index] = target as A
      }
    }
    return out
  }
  return renameRows
}
