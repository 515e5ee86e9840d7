import { AevonError } from '@aevon/core';

/** Longest query text accepted, in characters. */
export const sqlTextLengthMax = 100_000;
/** Most `$n` parameters a query may use. */
export const sqlParamsMax = 1000;

/**
 * Words a query may not contain as a name (unquoted, or quoted exactly): functions that change settings (the session
 * user may be a superuser, so `set_config('role', ...)` would undo `SET LOCAL ROLE`), run SQL given as text (which
 * would bypass this check), take session locks that outlive the query on a pooled connection, signal other backends,
 * or reach the file system. The reader role and the READ ONLY transaction stop writes on their own; this list stops
 * what they cannot.
 */
export const deniedSqlNames: ReadonlySet<string> = new Set([
  'set_config',
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'cursor_to_xml',
  'cursor_to_xmlschema',
  'table_to_xml',
  'table_to_xmlschema',
  'table_to_xml_and_xmlschema',
  'schema_to_xml',
  'schema_to_xmlschema',
  'schema_to_xml_and_xmlschema',
  'database_to_xml',
  'database_to_xmlschema',
  'database_to_xml_and_xmlschema',
  'ts_stat',
  'ts_rewrite',
  'dblink',
  'dblink_exec',
  'dblink_connect',
  'dblink_open',
  'dblink_send_query',
  'pg_advisory_lock',
  'pg_advisory_lock_shared',
  'pg_try_advisory_lock',
  'pg_try_advisory_lock_shared',
  'pg_advisory_xact_lock',
  'pg_advisory_xact_lock_shared',
  'pg_try_advisory_xact_lock',
  'pg_try_advisory_xact_lock_shared',
  'pg_advisory_unlock',
  'pg_advisory_unlock_shared',
  'pg_advisory_unlock_all',
  'pg_notify',
  'pg_cancel_backend',
  'pg_terminate_backend',
  'pg_reload_conf',
  'pg_rotate_logfile',
  'pg_read_file',
  'pg_read_binary_file',
  'pg_ls_dir',
  'pg_stat_file',
  'lo_import',
  'lo_export',
  'lo_from_bytea',
  'lo_put',
  'nextval',
  'setval',
  'txid_current',
  'pg_current_xact_id',
]);

/**
 * Keywords that make a SELECT or WITH write: data-modifying CTEs (`WITH d AS (DELETE ...)`) and `SELECT ... INTO`.
 * Statements that cannot appear inside one SELECT at all (CREATE, GRANT, ...) are refused by the first-keyword and
 * single-statement rules. A column spelled like one of these must be quoted in a query (`"update"`).
 */
const deniedKeywords: ReadonlySet<string> = new Set([
  'insert',
  'update',
  'delete',
  'merge',
  'into',
]);

/** What lexing a query found: its tokens (comments and whitespace dropped) and its text without a trailing `;`. */
export interface CheckedSql {
  /** The statement without the trailing semicolon (and what follows it), ready to wrap in a subquery. */
  readonly sql: string;
  /** The highest `$n` it uses (0 when none). */
  readonly paramsUsed: number;
}

/** One token of PostgreSQL's lexical grammar, as far as this check needs it. */
export interface SqlToken {
  readonly kind: 'word' | 'quoted' | 'string' | 'number' | 'param' | 'operator' | 'punctuation';
  /** Words folded to lower case; quoted identifiers and strings without their quotes; everything else as written. */
  readonly value: string;
  readonly start: number;
  readonly end: number;
}

function invalid(reason: string): AevonError<'AEV_SQL_INVALID'> {
  return new AevonError('AEV_SQL_INVALID', { reason });
}

/**
 * Checks, without a database, that `sql` is one read-only SELECT or WITH: it lexes the text as PostgreSQL does
 * (strings with `''` and `E'\''` escapes, quoted identifiers, nested block comments, dollar quotes) so that nothing
 * hides in a literal or a comment, then refuses more than one statement, a first keyword other than SELECT/WITH,
 * locking clauses (`FOR UPDATE`, `FOR SHARE`, ...), keywords of statements that write, {@link deniedSqlNames}, and
 * every name starting with `pg_` or naming `information_schema`: the system catalogs are readable by every role, so
 * only a static check keeps a query to the aggregate tables.
 * @throws AEV_SQL_INVALID saying what was refused.
 */
export function checkReadOnlySql(sql: string): CheckedSql {
  if (sql.length > sqlTextLengthMax) {
    throw invalid(`the query is longer than ${sqlTextLengthMax} characters`);
  }
  const tokens = lexSql(sql);
  const semicolon = tokens.findIndex((t) => t.kind === 'punctuation' && t.value === ';');
  if (semicolon !== -1 && semicolon !== tokens.length - 1) {
    throw invalid('only one statement is allowed');
  }
  const body = semicolon === -1 ? tokens : tokens.slice(0, semicolon);
  const first = body[0];
  if (first === undefined) throw invalid('the query is empty');
  if (first.kind !== 'word' || (first.value !== 'select' && first.value !== 'with')) {
    throw invalid('a query starts with SELECT or WITH');
  }
  let paramsUsed = 0;
  body.forEach((token, index) => {
    if (token.kind === 'param') {
      const n = Number(token.value.slice(1));
      if (!Number.isSafeInteger(n) || n < 1 || n > sqlParamsMax) {
        throw invalid(`parameter ${token.value} is out of range $1 to $${sqlParamsMax}`);
      }
      paramsUsed = Math.max(paramsUsed, n);
      return;
    }
    if (token.kind !== 'word' && token.kind !== 'quoted') return;
    if (deniedSqlNames.has(token.value)) {
      throw invalid(`the function ${token.value} is not allowed in a query`);
    }
    if (token.value.startsWith('pg_') || token.value === 'information_schema') {
      throw invalid(
        `${token.value}: the system catalogs and pg_ functions are not available to a query, only aggregate tables`,
      );
    }
    if (token.kind !== 'word') return;
    if (deniedKeywords.has(token.value)) {
      throw invalid(
        `${token.value.toUpperCase()} is not allowed in a read-only query (quote a column of that name)`,
      );
    }
    const next = body[index + 1];
    if (token.value === 'for' && next?.kind === 'word' && lockingWords.has(next.value)) {
      throw invalid('locking clauses (FOR UPDATE, FOR SHARE) are not allowed');
    }
  });
  const end = semicolon === -1 ? sql.length : (tokens[semicolon]?.start ?? sql.length);
  return { sql: sql.slice(0, end), paramsUsed };
}

const lockingWords: ReadonlySet<string> = new Set(['update', 'share', 'no', 'key']);

const identStart = /[A-Za-z_\u0080-\uffff]/;
const identPart = /[A-Za-z0-9_$\u0080-\uffff]/;
const operatorChars = '+-*/<>=~!@#%^&|`?';

/**
 * Splits PostgreSQL text into tokens, dropping whitespace and comments. Refuses what it cannot read safely:
 * an unterminated string, quoted identifier, dollar quote or comment, and `U&"..."` identifiers (their escapes could
 * spell a denied name).
 * @throws AEV_SQL_INVALID
 */
export function lexSql(sql: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  let i = 0;
  const push = (kind: SqlToken['kind'], value: string, start: number): void => {
    tokens.push({ kind, value, start, end: i });
  };
  while (i < sql.length) {
    const c = sql.charAt(i);
    const start = i;
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '-' && sql.charAt(i + 1) === '-') {
      const newline = sql.indexOf('\n', i);
      i = newline === -1 ? sql.length : newline + 1;
    } else if (c === '/' && sql.charAt(i + 1) === '*') {
      i = skipBlockComment(sql, i);
    } else if (c === "'") {
      i = scanQuoted(sql, i, "'", false);
      push('string', unquote(sql.slice(start + 1, i - 1), "'"), start);
    } else if (c === '"') {
      i = scanQuoted(sql, i, '"', false);
      const value = unquote(sql.slice(start + 1, i - 1), '"');
      if (value === '') throw invalid('a quoted identifier is empty');
      push('quoted', value, start);
    } else if (c === '$' && /[0-9]/.test(sql.charAt(i + 1))) {
      i += 1;
      while (/[0-9]/.test(sql.charAt(i))) i += 1;
      push('param', sql.slice(start, i), start);
    } else if (c === '$') {
      i = scanDollarQuote(sql, i);
      push('string', sql.slice(start, i), start);
    } else if (identStart.test(c)) {
      i = scanWord(sql, i, tokens, start);
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql.charAt(i + 1)))) {
      i = scanNumber(sql, i);
      push('number', sql.slice(start, i), start);
    } else if (operatorChars.includes(c)) {
      while (i < sql.length && operatorChars.includes(sql.charAt(i))) {
        // A comment start ends an operator, as in PostgreSQL.
        if (sql.startsWith('--', i) || sql.startsWith('/*', i)) break;
        i += 1;
      }
      push('operator', sql.slice(start, i), start);
    } else {
      i += c === ':' && sql.charAt(i + 1) === ':' ? 2 : 1;
      push('punctuation', sql.slice(start, i), start);
    }
  }
  return tokens;
}

/** Scans a word; a prefix letter right before a quote makes a string (`E'..'`, `B'..'`, `X'..'`, `N'..'`, `U&'..'`). */
function scanWord(sql: string, from: number, tokens: SqlToken[], start: number): number {
  let i = from;
  while (i < sql.length && identPart.test(sql.charAt(i))) i += 1;
  const word = sql.slice(start, i);
  const lower = word.toLowerCase();
  const next = sql.charAt(i);
  if (next === "'" && (lower === 'e' || lower === 'b' || lower === 'x' || lower === 'n')) {
    const end = scanQuoted(sql, i, "'", lower === 'e');
    tokens.push({ kind: 'string', value: sql.slice(i + 1, end - 1), start, end });
    return end;
  }
  if (lower === 'u' && next === '&') {
    if (sql.charAt(i + 1) === '"') throw invalid('U&"..." identifiers are not allowed');
    if (sql.charAt(i + 1) === "'") {
      const end = scanQuoted(sql, i + 1, "'", false);
      tokens.push({ kind: 'string', value: sql.slice(i + 2, end - 1), start, end });
      return end;
    }
  }
  tokens.push({ kind: 'word', value: lower, start, end: i });
  return i;
}

/**
 * The index after a number: digits, `_` separators, one `.`, an exponent. Letters right after it start a new token,
 * so `1set_config` is checked as a word.
 */
function scanNumber(sql: string, from: number): number {
  let i = from;
  while (/[0-9_.]/.test(sql.charAt(i))) i += 1;
  if (/[eE]/.test(sql.charAt(i))) {
    const sign = /[+-]/.test(sql.charAt(i + 1)) ? 1 : 0;
    if (/[0-9]/.test(sql.charAt(i + 1 + sign))) {
      i += 1 + sign;
      while (/[0-9_]/.test(sql.charAt(i))) i += 1;
    }
  }
  return i;
}

/** The index after a quoted token starting at `from`; a doubled quote is one character, and with `backslash` so is `\x`. */
function scanQuoted(sql: string, from: number, quote: string, backslash: boolean): number {
  let i = from + 1;
  while (i < sql.length) {
    const c = sql.charAt(i);
    if (backslash && c === '\\') {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (sql.charAt(i + 1) === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i += 1;
  }
  throw invalid(quote === '"' ? 'a quoted identifier is not closed' : 'a string is not closed');
}

function unquote(body: string, quote: string): string {
  return body.split(quote + quote).join(quote);
}

/** The index after a dollar-quoted string (`$$...$$`, `$tag$...$tag$`) starting at `from`. */
function scanDollarQuote(sql: string, from: number): number {
  let i = from + 1;
  if (identStart.test(sql.charAt(i))) {
    i += 1;
    while (i < sql.length && /[A-Za-z0-9_\u0080-\uffff]/.test(sql.charAt(i))) i += 1;
  }
  if (sql.charAt(i) !== '$') throw invalid('a "$" is neither a parameter ($1) nor a dollar quote');
  const tag = sql.slice(from, i + 1);
  const close = sql.indexOf(tag, i + 1);
  if (close === -1) throw invalid('a dollar-quoted string is not closed');
  return close + tag.length;
}

/** The index after a block comment starting at `from`; PostgreSQL's block comments nest. */
function skipBlockComment(sql: string, from: number): number {
  let depth = 0;
  let i = from;
  while (i < sql.length) {
    if (sql.startsWith('/*', i)) {
      depth += 1;
      i += 2;
    } else if (sql.startsWith('*/', i)) {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else {
      i += 1;
    }
  }
  throw invalid('a comment is not closed');
}
