/**
 * Text order by UTF-16 code unit: PostgreSQL's order under the "C" (or "C.UTF-8") collation, which the test
 * servers use. Under a linguistic collation (e.g. en_US) PostgreSQL may order '-', '_' and '.' differently.
 */
export const compareText = (left: string, right: string): number => (left < right ? -1 : left > right ? 1 : 0)
