import { Layer } from "effect"
import { RepositoriesLayer } from "../../src/Database/RepositoryLayers.ts"
import { TestDatabaseLayer } from "../support/TestDatabase.ts"
import { repositoryContract } from "./RepositoryContract.ts"

repositoryContract("PostgreSQL", RepositoriesLayer.pipe(Layer.provideMerge(TestDatabaseLayer())))
