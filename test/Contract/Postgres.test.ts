import { RepositoriesTestLayer } from "../support/RepositoriesTestLayer.ts"
import { repositoryContract } from "./RepositoryContract.ts"

repositoryContract("PostgreSQL", RepositoriesTestLayer())
