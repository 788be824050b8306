import { CachedRepositoriesTestLayer } from "../support/RepositoriesTestLayer.ts"
import { repositoryContract } from "./RepositoryContract.ts"

// The same suite as Postgres.test.ts, with the permission cache on (as PlatformKernel.layer has it): a cached
// answer must never differ from the database's.
repositoryContract("PostgreSQL, permission cache on", CachedRepositoriesTestLayer())
