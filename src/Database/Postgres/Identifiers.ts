/** An SQL identifier, quoted only when it must be (so a name read from the catalog is safe in a statement). */
export const quoteIdentifier = (name: string): string =>
  /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`
