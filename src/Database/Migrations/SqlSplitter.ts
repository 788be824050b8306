/**
 * Splits a SQL script into single statements.
 *
 * `@effect/sql-pg` only speaks the extended query protocol, which accepts one
 * statement per call, so migration files have to be cut at their top-level `;`.
 * The scanner follows PostgreSQL's lexical rules closely enough that a `;`
 * inside a string, quoted identifier, dollar quote or comment never splits.
 *
 * It assumes `standard_conforming_strings = on` (the default since 9.1): a
 * backslash only escapes inside `E'...'` strings.
 */
import { Schema } from "effect"

export class SqlSplitError extends Schema.TaggedError<SqlSplitError>()("SqlSplitError", {
  message: Schema.String,
  /** Offset of the construct that was left open, in UTF-16 code units. */
  offset: Schema.Number,
  /** 1-based line of that construct. */
  line: Schema.Number
}) {}

const isWhitespace = (c: string): boolean =>
  c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v"

const isDigit = (c: string): boolean => c >= "0" && c <= "9"

// PostgreSQL treats every non-ASCII character as a letter in identifiers.
const isIdentStart = (c: string): boolean =>
  (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_" || c.charCodeAt(0) >= 0x80

// `$` continues an unquoted identifier (`a$b`) but not a dollar-quote tag.
const isIdentChar = (c: string): boolean => isIdentStart(c) || isDigit(c) || c === "$"
const isTagChar = (c: string): boolean => isIdentStart(c) || isDigit(c)

const lineAt = (text: string, offset: number): { readonly line: number; readonly column: number } => {
  let line = 1
  let lineStart = 0
  for (let i = 0; i < offset; i++) {
    if (text[i] === "\n") {
      line++
      lineStart = i + 1
    }
  }
  return { line, column: offset - lineStart + 1 }
}

const unterminated = (text: string, what: string, offset: number): SqlSplitError => {
  const { column, line } = lineAt(text, offset)
  return new SqlSplitError({ message: `Unterminated ${what} starting at line ${line}, column ${column}`, offset, line })
}

// `CREATE [OR REPLACE] FUNCTION|PROCEDURE` may have a SQL-standard body
// (`BEGIN ATOMIC ...; ...; END`) whose `;` do not end the statement. Same
// heuristic as psql: inside such a statement, track BEGIN/CASE ... END depth.
const isRoutineDefinition = (words: ReadonlyArray<string>): boolean =>
  words[0] === "create" &&
  (words[1] === "function" ||
    words[1] === "procedure" ||
    (words[1] === "or" && words[2] === "replace" && (words[3] === "function" || words[3] === "procedure")))

/**
 * Returns the statements of `text`, each trimmed and without its `;`.
 * Comments before a statement are dropped, comments inside it are kept, and
 * statements made only of whitespace and comments are skipped.
 *
 * @throws SqlSplitError on an unterminated string, quoted identifier, dollar
 * quote or block comment.
 */
export const splitSqlStatements = (text: string): ReadonlyArray<string> => {
  const statements: Array<string> = []
  // Bounds of the current statement's significant content: -1 until a token
  // other than whitespace or a comment is seen.
  let start = -1
  let end = -1
  // Only needed for the BEGIN ATOMIC heuristic.
  let words: Array<string> = []
  let parenDepth = 0
  let beginDepth = 0

  const endStatement = () => {
    if (start >= 0) statements.push(text.slice(start, end))
    start = -1
    end = -1
    words = []
    parenDepth = 0
    beginDepth = 0
  }

  // Marks text[from, to) as part of the statement.
  const token = (from: number, to: number) => {
    if (start < 0) start = from
    end = to
  }

  // Scans a '...' body whose opening quote is at `quote`, returning the index
  // just past the closing quote. `''` is always an escaped quote.
  const scanString = (quote: number, backslashEscapes: boolean, what: string): number => {
    let i = quote + 1
    while (i < text.length) {
      const c = text[i]
      if (c === "\\" && backslashEscapes) {
        i += 2
      } else if (c === "'") {
        if (text[i + 1] !== "'") return i + 1
        i += 2
      } else {
        i++
      }
    }
    throw unterminated(text, what, quote)
  }

  let i = 0
  while (i < text.length) {
    const c = text[i]!
    const next = text[i + 1]

    if (isWhitespace(c)) {
      i++
    } else if (c === "-" && next === "-") {
      while (i < text.length && text[i] !== "\n" && text[i] !== "\r") i++
    } else if (c === "/" && next === "*") {
      // Block comments nest in PostgreSQL.
      const open = i
      let depth = 1
      i += 2
      while (depth > 0) {
        if (i >= text.length) throw unterminated(text, "block comment", open)
        if (text[i] === "/" && text[i + 1] === "*") {
          depth++
          i += 2
        } else if (text[i] === "*" && text[i + 1] === "/") {
          depth--
          i += 2
        } else {
          i++
        }
      }
    } else if (c === ";" && beginDepth === 0) {
      endStatement()
      i++
    } else if (c === "'") {
      const close = scanString(i, false, "quoted string")
      token(i, close)
      i = close
    } else if (c === '"') {
      const open = i
      i++
      for (;;) {
        if (i >= text.length) throw unterminated(text, "quoted identifier", open)
        if (text[i] === '"') {
          if (text[i + 1] !== '"') break
          i++
        }
        i++
      }
      i++
      token(open, i)
    } else if (c === "$") {
      const open = i
      i++
      if (next !== undefined && isDigit(next)) {
        // Positional parameter `$1`, not a dollar quote.
        while (i < text.length && isDigit(text[i]!)) i++
      } else if (next === "$" || (next !== undefined && isIdentStart(next))) {
        let tagEnd = i
        while (tagEnd < text.length && isTagChar(text[tagEnd]!)) tagEnd++
        if (text[tagEnd] === "$") {
          const delimiter = text.slice(open, tagEnd + 1)
          const close = text.indexOf(delimiter, tagEnd + 1)
          if (close < 0) throw unterminated(text, `dollar-quoted string ${delimiter}`, open)
          i = close + delimiter.length
        }
        // Otherwise a lone `$` followed by a word: not a quote, leave the word
        // to the next iteration.
      }
      token(open, i)
    } else if (isIdentStart(c)) {
      const open = i
      while (i < text.length && isIdentChar(text[i]!)) i++
      const word = text.slice(open, i).toLowerCase()
      if ((word === "e" || word === "x" || word === "b" || word === "n") && text[i] === "'") {
        // Prefixed literal (E'..', X'..', B'..', N'..'): only E honours backslashes.
        i = scanString(i, word === "e", word === "e" ? "E'...' string" : "quoted string")
      } else {
        if (words.length < 4) words.push(word)
        if (parenDepth === 0 && isRoutineDefinition(words)) {
          if (word === "begin") beginDepth++
          else if (word === "case" && beginDepth > 0) beginDepth++
          else if (word === "end" && beginDepth > 0) beginDepth--
        }
      }
      token(open, i)
    } else {
      if (c === "(") parenDepth++
      else if (c === ")" && parenDepth > 0) parenDepth--
      i++
      token(i - 1, i)
    }
  }
  endStatement()
  return statements
}
