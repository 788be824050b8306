/**
 * A password put under the wrong key (a shifted `.env` line, a mistyped variable name) must not reach the
 * output of any command: the password goes under every non-secret key of `config/default.yaml` in turn, from
 * the environment and from a configuration file, and `serve`, `migrate`, `status` and `health` run with it.
 * The keys come from the bundled file, so a new key is covered without touching this test.
 *
 * The commands run from a bundle of `src/Main.ts` (what `dist/Main.js` ships): a process starts in a fraction
 * of the time type stripping the sources takes. The database URL points at a port where nothing listens, so a
 * command whose configuration the loader refuses would fail fast at connecting if it went on; a value the
 * loader accepts runs against a throwaway database, so it goes as far as it can (migrations, the probe server
 * until ready, then SIGTERM; health checks).
 *
 * All four commands read the configuration through the same loader before doing anything else, so a value the
 * loader refuses is run through one command per key and source, in turn (each command gets a quarter of the
 * keys from each source); a value the loader accepts goes on into the command, so it is run through all four.
 * CONFIG_SECRETS_ALL_COMMANDS=1 runs every command for every key (about three times as long).
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { NodeFileSystem, NodePath } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { afterAll, beforeAll } from "vitest"
import { stringify as stringifyYaml } from "yaml"
import { bundledConfigFile, loadAppConfig } from "../../src/Config/AppConfig.ts"
import { envNameOf, leafPaths, mergeOver, parseYamlDocument, valueAt } from "../../src/Config/ConfigSource.ts"
import { freePort } from "../support/freePort.ts"
import { scopedDatabase } from "../support/TestDatabase.ts"
import { MIGRATIONS_TABLE } from "../support/urls.ts"
import { type CliOptions, type CliResult, REPO_ROOT, startCli } from "./runCli.ts"

const PASSWORD = "S3cr3t-Pa55"
const COMMANDS = ["serve", "migrate", "status", "health"] as const
// Two cores shared with other work: more processes at once only queue.
const CONCURRENCY = 4

const scratch = join(REPO_ROOT, ".scratch", `config-secrets-${process.pid}`)
const bundle = join(scratch, "Main.js")

beforeAll(() => {
  mkdirSync(scratch, { recursive: true })
  execFileSync(
    join(REPO_ROOT, "node_modules", ".bin", "rolldown"),
    ["src/Main.ts", "--platform", "node", "--format", "esm", "--file", bundle, "--logLevel", "warn"],
    { cwd: REPO_ROOT, stdio: "pipe" }
  )
}, 60_000)
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const FileServices = Layer.merge(NodeFileSystem.layer, NodePath.layer)
const defaults = parseYamlDocument(readFileSync(bundledConfigFile(), "utf8"), bundledConfigFile())

/** Every key of the bundled file whose decoded value is not a secret (secrets are `Redacted`). */
const nonSecretKeys = Effect.gen(function* () {
  const decoded = yield* loadAppConfig({ path: bundledConfigFile(), env: {} })
  return [...leafPaths(defaults)].filter((key) => !Redacted.isRedacted(valueAt(decoded, key.split("."))))
}).pipe(Effect.provide(FileServices))

/** `{ a: { b: value } }` for the key `a.b`. */
const nested = (key: string, value: unknown): Record<string, unknown> =>
  key
    .split(".")
    .reduceRight<Record<string, unknown>>(
      (inner, segment, index, segments) => ({ [segment]: index === segments.length - 1 ? value : inner }),
      {}
    )

/** Whether the loader accepts this configuration (then the value reaches the command itself). */
const accepted = (path: string, env: Record<string, string>) =>
  Effect.match(loadAppConfig({ path, env }).pipe(Effect.provide(FileServices)), {
    onFailure: () => false,
    onSuccess: () => true
  })

interface Case {
  readonly key: string
  readonly source: "env" | "file"
  readonly command: (typeof COMMANDS)[number]
  readonly env: Record<string, string>
  /** Against a real database: serve is stopped (SIGTERM) once ready. */
  readonly live: boolean
}

/** Runs the CLI; a `serve` that becomes ready is sent SIGTERM, so it shuts down (and prints that) by itself. */
const runCase = (args: ReadonlyArray<string>, options: CliOptions): Promise<CliResult> => {
  const running = startCli(args, options)
  const watch = setInterval(() => {
    if (/message="?ready\b/.test(running.stdout()) && running.child.exitCode === null) running.child.kill("SIGTERM")
  }, 100)
  return running.exited.finally(() => clearInterval(watch))
}

describe("a password under any non-secret key is never printed", () => {
  it.live(
    "serve, migrate, status and health, with the password under each key, from the environment and from a file",
    () =>
      Effect.gen(function* () {
        const keys = yield* nonSecretKeys
        // The list really is the file's: secrets are left out, nested and list-valued keys are in.
        assert.includeMembers(keys, ["database.pool.maxConnections", "database.ssl", "log.format", "rbac.roles"])
        assert.notInclude(keys, "database.password")
        assert.notInclude(keys, "database.url")
        assert.isAbove(keys.length, 40)

        const deadPort = yield* Effect.promise(freePort)
        const liveDatabase = yield* scopedDatabase({ from: "template" })
        const settings = (url: string) => ({
          database: {
            url,
            connectTimeout: "1 second",
            startup: { timeout: "300 millis" },
            migrations: { table: MIGRATIONS_TABLE }
          },
          http: { host: "127.0.0.1" },
          shutdown: { drainDelay: "0 millis", timeout: "1 second" }
        })
        // A refused value never gets past the loader: nothing listens at that database's port, so a command
        // that went on anyway would fail fast. An accepted value runs against a real (throwaway) database, so
        // it goes as far as it can: migrations, the probe server, health checks.
        const deadBase = mergeOver(defaults, settings(`postgres://postgres@127.0.0.1:${deadPort}/pk_nowhere`))
        const liveBase = mergeOver(defaults, settings(liveDatabase.url))
        let fileCounter = 0
        const writeConfig = (values: Record<string, unknown>) => {
          const path = join(scratch, `config-${++fileCounter}.yaml`)
          writeFileSync(path, stringifyYaml(values))
          return path
        }
        const deadFile = writeConfig(deadBase)

        const allCommands = process.env.CONFIG_SECRETS_ALL_COMMANDS === "1"
        const cases: Array<Case> = []
        let acceptedCount = 0
        for (const [index, key] of keys.entries()) {
          const envName = envNameOf(key.split("."))
          for (const [sourceIndex, source] of (["env", "file"] as const).entries()) {
            const env =
              source === "env"
                ? { CONFIG_FILE: deadFile, [envName]: PASSWORD }
                : { CONFIG_FILE: writeConfig(mergeOver(deadBase, nested(key, PASSWORD))) }
            if (!(yield* accepted(env.CONFIG_FILE!, env))) {
              const commands = allCommands ? COMMANDS : [COMMANDS[(index + 2 * sourceIndex) % COMMANDS.length]!]
              for (const command of commands) cases.push({ key, source, command, env, live: false })
              continue
            }
            acceptedCount++
            for (const command of COMMANDS) {
              // Each serve listens on a port of its own (http.port takes no password, so is never the key here).
              const port = String(yield* Effect.promise(freePort))
              const liveEnv =
                source === "env"
                  ? { CONFIG_FILE: writeConfig(liveBase), [envName]: PASSWORD, HTTP_PORT: port }
                  : {
                      CONFIG_FILE: writeConfig(
                        mergeOver(mergeOver(liveBase, { http: { port } }), nested(key, PASSWORD))
                      )
                    }
              cases.push({ key, source, command, env: liveEnv, live: true })
            }
          }
        }
        // Both paths are exercised: most keys refuse a password, a few (host names, paths) take it.
        assert.isAbove(acceptedCount, 0)
        assert.isBelow(acceptedCount, keys.length)

        const main = relative(REPO_ROOT, bundle)
        // Node keeps the bundle's compiled code between the runs: a third less CPU per process.
        const compileCache = join(scratch, "compile-cache")
        const results = yield* Effect.forEach(
          cases,
          (testCase) =>
            Effect.map(
              Effect.promise(() =>
                runCase([testCase.command], {
                  env: { ...testCase.env, NODE_COMPILE_CACHE: compileCache },
                  timeoutMs: 20_000,
                  main
                })
              ),
              (result): readonly [Case, CliResult] => [testCase, result]
            ),
          { concurrency: CONCURRENCY }
        )

        const timedOut = results.filter(([, result]) => result.timedOut)
        assert.deepStrictEqual(
          timedOut.map(([{ key, source, command }]) => `${command} with ${key} from ${source}`),
          [],
          "every command ends by itself"
        )
        const leaks = results.flatMap(([{ key, source, command }, result]) =>
          `${result.stdout}\n${result.stderr}`
            .split("\n")
            .filter((line) => line.includes(PASSWORD))
            .map((line) => `${command} with ${key} from ${source}: ${line.slice(0, 300)}`)
        )
        assert.deepStrictEqual(leaks, [], `the password was printed ${leaks.length} times`)
        // The runs did what they are meant to: an accepted value was served with, a refused key is named.
        const liveServes = results.filter(([c]) => c.live && c.command === "serve")
        assert.isTrue(
          liveServes.some(([, result]) => /message="?ready\b/.test(result.stdout)),
          "no serve with an accepted value became ready"
        )
        const [, refused] = results.find(([c]) => c.key === "database.pool.maxConnections" && c.source === "env")!
        assert.include(refused.stderr + refused.stdout, "database.pool.maxConnections: expected a positive integer")
      }),
    process.env.CONFIG_SECRETS_ALL_COMMANDS === "1" ? 600_000 : 180_000
  )
})
