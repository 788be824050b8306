export const MIGRATIONS_TABLE = "schema_migrations"

/** The same server and credentials, another database. */
export const databaseUrl = (serverUrl: string, database: string): string => {
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  return url.toString()
}
