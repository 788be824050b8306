import { layer } from "@effect/vitest"
import type { Layer } from "effect"
import { accessContract } from "./AccessContract.ts"
import { auditContract } from "./AuditContract.ts"
import { byNameContract } from "./ByNameContract.ts"
import { changeAuditContract } from "./ChangeAuditContract.ts"
import type { ContractServices } from "./Fixtures.ts"
import { hostileInputContract } from "./HostileInputContract.ts"
import { optionalInputContract } from "./OptionalInputContract.ts"
import { permissionContract } from "./PermissionContract.ts"
import { roleContract } from "./RoleContract.ts"
import { secretContract } from "./SecretContract.ts"
import { streamContract } from "./StreamContract.ts"
import { transactionContract } from "./TransactionContract.ts"
import { userContract } from "./UserContract.ts"
import { vocabularyContract } from "./VocabularyContract.ts"

export type { ContractServices } from "./Fixtures.ts"

/**
 * The behaviour every implementation of the repositories must show, written once and run against each
 * layer (PostgreSQL, in-memory...). The layer is built once for the whole suite, so tests never assume an
 * empty store: each makes names of its own and looks only at its own rows.
 *
 * The real clock is used (no TestClock): ids are UUIDv7 from the Clock and the database stamps its own
 * times, and a layer may wait (a pool retrying) while it is built.
 */
export const repositoryContract = (name: string, layerUnderTest: Layer.Layer<ContractServices, unknown>) =>
  layer(layerUnderTest, { excludeTestServices: true, timeout: "120 seconds" })(`repository contract: ${name}`, (it) => {
    userContract(it)
    roleContract(it)
    permissionContract(it)
    accessContract(it)
    byNameContract(it)
    streamContract(it)
    optionalInputContract(it)
    hostileInputContract(it)
    auditContract(it)
    changeAuditContract(it)
    transactionContract(it)
    secretContract(it)
    // Last: it reads every record the tests before it wrote.
    vocabularyContract(it)
  })
