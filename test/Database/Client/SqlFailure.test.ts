/**
 * The retry rule and the error text for failures the test servers cannot be made to produce on demand
 * (a server starting up or out of connection slots). The errors are built as `@effect/sql-pg` builds them:
 * the reason class its SQLSTATE table picks, the server's fields on an Error as the cause.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  AuthenticationError,
  AuthorizationError,
  ConnectionError,
  SerializationError,
  SqlError,
  SqlSyntaxError,
  UnknownError
} from "effect/sql/SqlError"
import {
  acquireTimedOut,
  describeFailure,
  describeSqlError,
  isTransientSqlError,
  statementTimedOut
} from "../../../src/Database/Client/SqlFailure.ts"

type ReasonClass =
  | typeof AuthenticationError
  | typeof AuthorizationError
  | typeof ConnectionError
  | typeof SerializationError
  | typeof SqlSyntaxError
  | typeof UnknownError

const fromServer = (Reason: ReasonClass, code: string, message: string) =>
  new SqlError({
    reason: new Reason({
      cause: Object.assign(new Error(message), { severity: "FATAL", code, message }),
      message: "PgConnection: Failed to connect",
      operation: "connect"
    })
  })

const onConnect = (cause: Error, message: string) =>
  new SqlError({ reason: new ConnectionError({ cause, message, operation: "connect" }) })

const socketError = (code: string) =>
  Object.assign(new Error(`connect ${code} 10.0.0.1:5432`), { code, syscall: "connect", errno: -111 })

describe("isTransientSqlError", () => {
  const cases: ReadonlyArray<readonly [string, SqlError, boolean]> = [
    ["the server starting up (57P03)", fromServer(UnknownError, "57P03", "the database system is starting up"), true],
    [
      "the server shutting down (57P01)",
      fromServer(UnknownError, "57P01", "terminating connection due to administrator command"),
      true
    ],
    [
      "a crashed server restarting (57P02)",
      fromServer(UnknownError, "57P02", "terminating connection because of crash of another server process"),
      true
    ],
    ["no connection slots left (53300)", fromServer(UnknownError, "53300", "sorry, too many clients already"), true],
    ["a serialization failure (40001)", fromServer(SerializationError, "40001", "could not serialize access"), true],
    ["a connection refused", onConnect(socketError("ECONNREFUSED"), "PgConnection: Failed to connect"), true],
    ["a host name not resolved yet", onConnect(socketError("EAI_AGAIN"), "PgConnection: Failed to connect"), true],
    [
      "a connection timed out",
      onConnect(new Error("Connection timed out"), "PgConnection: Connection timed out"),
      true
    ],
    ["another 08 SQLSTATE (08006)", fromServer(ConnectionError, "08006", "connection failure"), true],
    ["a missing database (3D000)", fromServer(UnknownError, "3D000", 'database "x" does not exist'), false],
    [
      "a wrong password (28P01)",
      fromServer(AuthenticationError, "28P01", 'password authentication failed for user "u"'),
      false
    ],
    ["no pg_hba.conf entry (28000)", fromServer(AuthenticationError, "28000", "no pg_hba.conf entry for host"), false],
    [
      "no permission to connect (42501)",
      fromServer(AuthorizationError, "42501", "permission denied for database x"),
      false
    ],
    [
      "an unknown startup parameter (42704)",
      fromServer(SqlSyntaxError, "42704", 'unrecognized configuration parameter "x"'),
      false
    ],
    [
      "a protocol violation, e.g. PgBouncer (08P01)",
      fromServer(ConnectionError, "08P01", "unsupported startup parameter: x"),
      false
    ],
    [
      "a server without TLS",
      onConnect(new Error("The server does not support TLS"), "PgConnection: Server refused TLS"),
      false
    ],
    [
      "a rejected certificate",
      onConnect(
        Object.assign(new Error("self-signed certificate"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" }),
        "PgConnection: Failed to connect"
      ),
      false
    ],
    [
      "a certificate for another host",
      onConnect(
        Object.assign(new Error("Hostname/IP does not match"), { code: "ERR_TLS_CERT_ALTNAME_INVALID" }),
        "PgConnection: Failed to connect"
      ),
      false
    ],
    [
      "the driver refusing its configuration",
      onConnect(new Error('Unrecognized sslmode in URL: "x"'), 'PgConnection: Unrecognized sslmode in URL: "x"'),
      false
    ]
  ]
  for (const [name, error, transient] of cases) {
    it(`${name}: ${transient ? "transient" : "permanent"}`, () => {
      assert.strictEqual(isTransientSqlError(error), transient)
    })
  }
})

describe("describeSqlError and describeFailure", () => {
  it("give the server's words on one line", () => {
    const error = fromServer(UnknownError, "3D000", 'database "x" does not exist\nHINT: create it')
    assert.strictEqual(describeSqlError(error), 'database "x" does not exist HINT: create it')
    assert.strictEqual(describeFailure(error), 'database "x" does not exist HINT: create it')
  })

  it("add the server's words to an error that wraps a SQL failure", () => {
    const wrapped = Object.assign(new Error('Migration "2_users" failed'), {
      cause: fromServer(SqlSyntaxError, "42601", 'syntax error at or near "TABEL"')
    })
    assert.strictEqual(describeFailure(wrapped), 'Migration "2_users" failed: syntax error at or near "TABEL"')
  })

  it("mark a rejected certificate as such", () => {
    const error = onConnect(
      Object.assign(new Error("unable to verify the first certificate"), { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" }),
      "PgConnection: Failed to connect"
    )
    assert.strictEqual(describeSqlError(error), "server certificate rejected: unable to verify the first certificate")
  })
})

describe("the client's own deadlines", () => {
  it("a wait for a connection and a statement without an answer in time are transient, in their own words", () => {
    const acquire = acquireTimedOut("no connection within database.pool.acquireTimeout (10s)")
    const statement = statementTimedOut("no answer within database.queryTimeout (35s)")
    assert.strictEqual(acquire.reason._tag, "ConnectionError")
    assert.strictEqual(statement.reason._tag, "StatementTimeoutError")
    assert.isTrue(isTransientSqlError(acquire))
    assert.isTrue(isTransientSqlError(statement))
    assert.strictEqual(describeSqlError(acquire), "no connection within database.pool.acquireTimeout (10s)")
    assert.strictEqual(describeSqlError(statement), "no answer within database.queryTimeout (35s)")
  })
})
