/**
 * `platform-kernel/testing`: what a consumer's tests need. The repositories in memory (the same fronts as on
 * PostgreSQL, so the same validation, errors and audit records), partial mocks that die on any method not
 * given, a fresh migrated PostgreSQL database per test file (`TestDatabase.layer`), and the embedded server.
 */
export {
  type EmbeddedMode,
  type EmbeddedOptions,
  type EmbeddedServer,
  startEmbeddedPostgres
} from "./Embedded/EmbeddedPostgres.ts"
export { MemoryDatabase, type MemoryDatabaseServices } from "./Memory/MemoryDatabase.ts"
export { MemoryStore } from "./Memory/MemoryStore.ts"
export { mockLayer, partialMock, UnimplementedMockMethod } from "./Memory/PartialMock.ts"
export {
  type EntityContractCase,
  type EntityContractOptions,
  type EntityContractServices,
  entityContract
} from "./Testing/EntityContract.ts"
export {
  TestDatabase,
  TestDatabaseError,
  type TestDatabaseOptions,
  type TestDatabaseServices
} from "./Testing/TestDatabase.ts"
