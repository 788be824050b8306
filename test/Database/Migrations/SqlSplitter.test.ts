import { readdirSync, readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { SqlSplitError, splitSqlStatements } from "../../../src/Database/Migrations/SqlSplitter.ts"

const split = splitSqlStatements

const splitError = (text: string): SqlSplitError => {
  try {
    split(text)
  } catch (error) {
    if (error instanceof SqlSplitError) return error
    throw error
  }
  throw new Error("expected splitSqlStatements to throw")
}

describe("splitSqlStatements", () => {
  describe("basics", () => {
    it("splits on top-level semicolons and trims", () => {
      expect(split("  SELECT 1;\n\n  SELECT 2 ;\nSELECT 3;  ")).toEqual(["SELECT 1", "SELECT 2", "SELECT 3"])
    })

    it("keeps a trailing statement without semicolon", () => {
      expect(split("SELECT 1;\nSELECT 2\n")).toEqual(["SELECT 1", "SELECT 2"])
    })

    it("drops empty statements", () => {
      expect(split(";;SELECT 1;; ;\n;SELECT 2;;")).toEqual(["SELECT 1", "SELECT 2"])
    })

    it("returns nothing for empty, blank or comment-only input", () => {
      expect(split("")).toEqual([])
      expect(split("  \n\t\n")).toEqual([])
      expect(split("-- only a comment\n/* and a block */\n-- no newline at the end")).toEqual([])
      expect(split("-- a;\n/* b; */ ; -- c;\n;")).toEqual([])
    })

    it("keeps multi-line statements intact", () => {
      const sql = "CREATE TABLE t (\n  a int,\n  b text\n);\nINSERT INTO t VALUES (1, 'x');"
      expect(split(sql)).toEqual(["CREATE TABLE t (\n  a int,\n  b text\n)", "INSERT INTO t VALUES (1, 'x')"])
    })

    it("handles CRLF line endings", () => {
      const sql = "-- header\r\nSELECT 1;\r\n-- between; here\r\nSELECT\r\n  2;\r\n"
      expect(split(sql)).toEqual(["SELECT 1", "SELECT\r\n  2"])
    })
  })

  describe("comments", () => {
    it("does not split on ; in a line comment", () => {
      expect(split("SELECT 1 -- a; b\n+ 1;\nSELECT 2;")).toEqual(["SELECT 1 -- a; b\n+ 1", "SELECT 2"])
    })

    it("does not split on ; in a block comment", () => {
      expect(split("SELECT /* a; b */ 1; SELECT 2")).toEqual(["SELECT /* a; b */ 1", "SELECT 2"])
    })

    it("nests block comments", () => {
      expect(split("/* a /* b; */ still; comment */ SELECT 1; SELECT 2")).toEqual(["SELECT 1", "SELECT 2"])
      expect(split("SELECT /* /* /* ; */ */ ; */ 1;")).toEqual(["SELECT /* /* /* ; */ */ ; */ 1"])
    })

    it("drops comments before a statement but keeps those inside", () => {
      const sql = "-- header\n/* block */\nCREATE TABLE t (\n  a int -- the a\n);\n-- trailing comment\n"
      expect(split(sql)).toEqual(["CREATE TABLE t (\n  a int -- the a\n)"])
    })

    it("does not treat -- or /* inside strings as comments", () => {
      expect(split("SELECT '--', '/*'; SELECT 2")).toEqual(["SELECT '--', '/*'", "SELECT 2"])
    })

    it("does not treat a lone - or / as a comment", () => {
      expect(split("SELECT 4 - 2 / 1; SELECT -1")).toEqual(["SELECT 4 - 2 / 1", "SELECT -1"])
    })

    it("ends a line comment at end of input", () => {
      expect(split("SELECT 1 -- no newline; here")).toEqual(["SELECT 1"])
    })
  })

  describe("quoted strings", () => {
    it("does not split on ; in a single-quoted string", () => {
      expect(split("SELECT 'a;b'; SELECT 2")).toEqual(["SELECT 'a;b'", "SELECT 2"])
    })

    it("handles doubled quotes", () => {
      expect(split("SELECT 'it''s; fine', ''''; SELECT ''")).toEqual(["SELECT 'it''s; fine', ''''", "SELECT ''"])
    })

    it("treats backslash as literal in plain strings", () => {
      expect(split("SELECT 'a\\'; SELECT 2")).toEqual(["SELECT 'a\\'", "SELECT 2"])
    })

    it("honours backslash escapes in E-strings", () => {
      expect(split("SELECT E'it\\'s; fine'; SELECT 2")).toEqual(["SELECT E'it\\'s; fine'", "SELECT 2"])
      expect(split("SELECT e'\\\\'; SELECT 2")).toEqual(["SELECT e'\\\\'", "SELECT 2"])
      expect(split("SELECT E'a''b;\\n'; SELECT 2")).toEqual(["SELECT E'a''b;\\n'", "SELECT 2"])
    })

    it("only treats a standalone E as the escape prefix", () => {
      // `type'...'` is a typed literal, not an E-string: the backslash is literal.
      expect(split("SELECT date'2020-01-01', some_type'x\\'; SELECT 2")).toEqual([
        "SELECT date'2020-01-01', some_type'x\\'",
        "SELECT 2"
      ])
    })

    it("treats U&, X, B and N strings as plain strings", () => {
      expect(split("SELECT U&'d\\0061t;a', X'1F', B'101', N'n;'; SELECT 2")).toEqual([
        "SELECT U&'d\\0061t;a', X'1F', B'101', N'n;'",
        "SELECT 2"
      ])
    })

    it("handles adjacent string continuations", () => {
      expect(split("SELECT 'a;'\n'b;'; SELECT 2")).toEqual(["SELECT 'a;'\n'b;'", "SELECT 2"])
    })
  })

  describe("quoted identifiers", () => {
    it("does not split on ; or quotes in a quoted identifier", () => {
      expect(split('SELECT 1 AS "a;b\'c"; SELECT 2')).toEqual(['SELECT 1 AS "a;b\'c"', "SELECT 2"])
    })

    it("handles doubled double quotes", () => {
      expect(split('CREATE TABLE "x""; y" (a int); SELECT 2')).toEqual(['CREATE TABLE "x""; y" (a int)', "SELECT 2"])
    })

    it("handles quoted identifiers containing comment markers", () => {
      expect(split('SELECT 1 AS "--", 2 AS "/*"; SELECT 2')).toEqual(['SELECT 1 AS "--", 2 AS "/*"', "SELECT 2"])
    })
  })

  describe("dollar quoting", () => {
    it("does not split inside a $$ plpgsql body containing ; and '", () => {
      const fn = [
        "CREATE FUNCTION set_updated_at() RETURNS trigger",
        "LANGUAGE plpgsql AS $$",
        "BEGIN",
        "  -- don't; stop here",
        "  NEW.updated_at := clock_timestamp();",
        "  RAISE NOTICE 'it''s %; \"fine\"', NEW.id;",
        "  RETURN NEW;",
        "END;",
        "$$"
      ].join("\n")
      expect(split(`${fn};\nSELECT 2;`)).toEqual([fn, "SELECT 2"])
    })

    it("does not end a $tag$ body at $$ or a different tag", () => {
      const fn = "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $body$ SELECT $$a;b$$ || $x$;$x$ $body$"
      expect(split(`${fn}; SELECT 2`)).toEqual([fn, "SELECT 2"])
    })

    it("matches tags case-sensitively", () => {
      expect(split("SELECT $a$ $A$; $a$; SELECT 2")).toEqual(["SELECT $a$ $A$; $a$", "SELECT 2"])
    })

    it("accepts tags with underscores, digits and non-ASCII letters", () => {
      expect(split("SELECT $_t1$;$_t1$, $été$;$été$; SELECT 2")).toEqual([
        "SELECT $_t1$;$_t1$, $été$;$été$",
        "SELECT 2"
      ])
    })

    it("does not treat positional parameters as dollar quotes", () => {
      expect(split("SELECT $1, $2::int; SELECT $10")).toEqual(["SELECT $1, $2::int", "SELECT $10"])
      expect(split("PREPARE p AS SELECT $1$2; SELECT 2")).toEqual(["PREPARE p AS SELECT $1$2", "SELECT 2"])
    })

    it("does not treat $ inside an identifier as a dollar quote", () => {
      expect(split("SELECT a$$b, c$x$; SELECT 2")).toEqual(["SELECT a$$b, c$x$", "SELECT 2"])
    })

    it("handles an empty dollar-quoted string and adjacent ones", () => {
      expect(split("SELECT $$$$; SELECT $$;$$$$;$$")).toEqual(["SELECT $$$$", "SELECT $$;$$$$;$$"])
    })

    it("does not treat quotes or comments inside a dollar quote as openers", () => {
      expect(split("SELECT $$ ' \" /* -- $$; SELECT 2")).toEqual(["SELECT $$ ' \" /* -- $$", "SELECT 2"])
    })
  })

  describe("SQL-standard routine bodies", () => {
    it("keeps a BEGIN ATOMIC body together", () => {
      const fn = [
        "CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql",
        "BEGIN ATOMIC",
        "  SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END;",
        "  SELECT a;",
        "END"
      ].join("\n")
      expect(split(`${fn};\nSELECT 2;`)).toEqual([fn, "SELECT 2"])
    })

    it("does not treat BEGIN as a block outside routine definitions", () => {
      expect(split("BEGIN; SELECT 1; COMMIT;")).toEqual(["BEGIN", "SELECT 1", "COMMIT"])
      expect(split("CREATE TABLE t (begin int); SELECT 2")).toEqual(["CREATE TABLE t (begin int)", "SELECT 2"])
    })
  })

  describe("errors", () => {
    it("rejects an unterminated quoted string", () => {
      const error = splitError("SELECT 1;\nSELECT 'abc;\n")
      expect(error._tag).toBe("SqlSplitError")
      expect(error.message).toBe("Unterminated quoted string starting at line 2, column 8")
      expect(error.line).toBe(2)
      expect(error.offset).toBe(17)
    })

    it("rejects a plain string left open by a trailing doubled quote", () => {
      expect(splitError("SELECT 'it''").message).toMatch(/^Unterminated quoted string .* line 1\b/)
    })

    it("rejects an unterminated E-string", () => {
      const error = splitError("\n\nSELECT E'it\\';")
      expect(error.message).toMatch(/^Unterminated E'\.\.\.' string .* line 3\b/)
      expect(error.line).toBe(3)
    })

    it("rejects an unterminated quoted identifier", () => {
      const error = splitError('SELECT 1;\r\nSELECT "a"";')
      expect(error.message).toMatch(/^Unterminated quoted identifier .* line 2\b/)
    })

    it("rejects an unterminated dollar quote", () => {
      const error = splitError("CREATE FUNCTION f() RETURNS int AS $fn$\nSELECT 1; $$ $x$\n")
      expect(error.message).toMatch(/^Unterminated dollar-quoted string \$fn\$ .* line 1\b/)
      expect(error.offset).toBe(35)
    })

    it("rejects an unterminated block comment, counting nesting", () => {
      const error = splitError("SELECT 1;\n/* a /* b */ c;\nSELECT 2;")
      expect(error.message).toMatch(/^Unterminated block comment .* line 2\b/)
      expect(splitError("/*/").message).toMatch(/^Unterminated block comment/)
    })

    it("is an Error", () => {
      expect(splitError("'")).toBeInstanceOf(Error)
    })
  })

  describe("migrations/", () => {
    const dir = new URL("../../../migrations/", import.meta.url)
    const files = readdirSync(dir)
      .filter((name) => name.endsWith(".sql"))
      .sort()

    it("has migration files", () => {
      expect(files.length).toBeGreaterThan(0)
    })

    it.each(files)("splits %s into non-empty statements", (name) => {
      const statements = split(readFileSync(new URL(name, dir), "utf8"))
      expect(statements.length).toBeGreaterThanOrEqual(1)
      for (const statement of statements) {
        expect(statement.trim()).not.toBe("")
        expect(statement).toBe(statement.trim())
        expect(statement.endsWith(";")).toBe(false)
      }
    })
  })
})
