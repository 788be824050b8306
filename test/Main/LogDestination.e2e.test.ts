/**
 * `log.destination`: the kernel's log lines go to stdout or stderr as configured, from every CLI command and
 * from the library's layers inside a consuming process; commands whose stdout is data (`status --json`,
 * `health`) keep it parseable whatever the setting.
 */
import { randomBytes } from "node:crypto"
import { fileURLToPath } from "node:url"
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort } from "../support/freePort.ts"
import { runScript } from "../support/NodeScript.ts"
import { databaseForFile } from "../support/TestDatabase.ts"
import { MIGRATIONS_TABLE } from "../support/urls.ts"
import { jsonLines, runCli, startCli, untilReady } from "./runCli.ts"

const INDEX = fileURLToPath(new URL("../../src/index.ts", import.meta.url))

const database = databaseForFile()

/** Every log level on, one JSON object per line, to `destination` (the default when undefined). */
const loggingEnv = (destination?: "stdout" | "stderr") => ({
  DATABASE_URL: database.url(),
  DATABASE_MIGRATIONS_TABLE: MIGRATIONS_TABLE,
  LOG_LEVEL: "all",
  LOG_FORMAT: "json",
  ...(destination === undefined ? {} : { LOG_DESTINATION: destination })
})

const messages = (output: string) => jsonLines(output).map((line) => line.message)

describe("log.destination", () => {
  it("migrate logs to stdout by default and to stderr when told", async () => {
    const byDefault = await runCli(["migrate"], { env: loggingEnv() })
    expect(byDefault.code, byDefault.stderr).toBe(0)
    expect(messages(byDefault.stdout)).toContain("nothing to migrate")
    expect(byDefault.stderr).toBe("")

    const toStderr = await runCli(["migrate"], { env: loggingEnv("stderr") })
    expect(toStderr.code, toStderr.stderr).toBe(0)
    expect(messages(toStderr.stderr)).toContain("nothing to migrate")
    expect(toStderr.stdout).toBe("")
  })

  it("serve logs to stderr when told, from startup to shutdown", async () => {
    const httpPort = await freePort()
    const serve = startCli(["serve"], {
      env: { ...loggingEnv("stderr"), HTTP_HOST: "127.0.0.1", HTTP_PORT: String(httpPort) },
      timeoutMs: 60_000
    })
    await untilReady(serve, { stream: "stderr" })
    serve.child.kill("SIGTERM")
    const result = await serve.exited
    expect(result.code, result.stderr).toBe(0)
    expect(messages(result.stderr)).toEqual(
      expect.arrayContaining(["platform-kernel starting", "ready", "shutting down"])
    )
    expect(result.stdout).toBe("")
  })

  it.each(["stdout", "stderr"] as const)(
    "status --json and health print JSON alone on stdout, logs on, log.destination %s",
    async (destination) => {
      const status = await runCli(["status", "--json"], { env: loggingEnv(destination) })
      expect(status.code, status.stderr).toBe(0)
      const histories = JSON.parse(status.stdout)
      expect(histories.kernel.pending).toEqual([])
      // The command did log, and not on stdout.
      expect(messages(status.stderr)).toContain("database connected")

      const health = await runCli(["health"], { env: loggingEnv(destination) })
      expect(health.code, health.stderr).toBe(0)
      expect(JSON.parse(health.stdout).status).toBe("up")
    }
  )

  it("the library's layers in a consuming process log where log.destination says", async () => {
    const script = `import { Effect } from "effect"
      const { PlatformKernel, UserRepository } = await import(${JSON.stringify(INDEX)})
      await Effect.runPromise(
        Effect.gen(function* () {
          const users = yield* UserRepository
          yield* users.list({})
        }).pipe(Effect.provide(PlatformKernel.layer))
      )
      console.log("the service's own output")`
    const applicationName = `pk_logdest_${randomBytes(4).toString("hex")}`
    const toStderr = await runScript(script, {
      env: { ...loggingEnv("stderr"), DATABASE_APPLICATION_NAME: applicationName }
    })
    expect(toStderr.code, toStderr.stderr).toBe(0)
    expect(toStderr.stdout).toBe("the service's own output\n")
    expect(messages(toStderr.stderr)).toContain("database connected")

    const byDefault = await runScript(script, { env: { ...loggingEnv(), DATABASE_APPLICATION_NAME: applicationName } })
    expect(byDefault.code, byDefault.stderr).toBe(0)
    expect(messages(byDefault.stdout)).toContain("database connected")
  })
})
