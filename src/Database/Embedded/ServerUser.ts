import { execFileSync, spawnSync } from "node:child_process"
import { Effect } from "effect"
import { EmbeddedPostgresError } from "../Client/DatabaseErrors.ts"

/** The operating-system user the server runs as; `undefined` ids mean "this process's own user". */
export interface ServerUser {
  readonly name: string
  readonly uid: number | undefined
  readonly gid: number | undefined
}

const SYSTEM_USER = "postgres"

const idOf = (flag: "-u" | "-g") => Number(execFileSync("id", [flag, SYSTEM_USER], { encoding: "utf8" }).trim())

/**
 * PostgreSQL refuses to run as root, so as root the server runs as the system user `postgres`, created when
 * missing (the usual container case). Anyone else runs it as themselves.
 */
export const resolveServerUser: Effect.Effect<ServerUser, EmbeddedPostgresError> = Effect.try({
  try: (): ServerUser => {
    if (process.getuid?.() !== 0) return { name: "the current user", uid: undefined, gid: undefined }
    try {
      return { name: `system user "${SYSTEM_USER}"`, uid: idOf("-u"), gid: idOf("-g") }
    } catch {
      execFileSync("useradd", ["--system", "--user-group", "--no-create-home", SYSTEM_USER], { stdio: "ignore" })
      return { name: `system user "${SYSTEM_USER}"`, uid: idOf("-u"), gid: idOf("-g") }
    }
  },
  catch: () =>
    new EmbeddedPostgresError({
      reason: `PostgreSQL cannot run as root and there is no system user "${SYSTEM_USER}" to run it as (useradd failed); create one, or run as a non-root user`
    })
})

/** Whether `user` may search (`-x`) or read (`-r`) `path`, decided by the kernel itself (ACLs included). */
export const userCan = (user: ServerUser, test: "-x" | "-r", path: string): boolean =>
  user.uid === undefined ||
  // cwd "/": the caller's directory may be one that user cannot enter, which would fail the spawn itself.
  spawnSync("test", [test, path], { uid: user.uid, gid: user.gid ?? user.uid, cwd: "/", stdio: "ignore" }).status === 0
