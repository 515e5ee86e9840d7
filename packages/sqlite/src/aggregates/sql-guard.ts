import type { Database, Statement } from 'better-sqlite3';
import { AevonError, assert } from '@aevon/core';

/** Most `$n` parameters a query may use (SQLite's default SQLITE_MAX_VARIABLE_NUMBER is 32,766). */
export const sqlParamsMax = 1000;
/** Longest query text accepted, in characters. */
export const sqlTextLengthMax = 100_000;

/**
 * Functions a query may not call, whatever table it reads: they reach outside the database (files, extensions) or
 * into SQLite internals. Compared in lower case against the `Function` opcodes of the query's bytecode.
 */
export const deniedSqlFunctions: ReadonlySet<string> = new Set([
  'load_extension',
  'readfile',
  'writefile',
  'edit',
  'fts3_tokenizer',
  'sqlite_compileoption_get',
  'sqlite_compileoption_used',
  'sqlite_dbdata',
  'sqlite_dbpage',
]);

/**
 * Opcodes that open or change something other than a read cursor on a table or index of the main database:
 * writes, virtual table changes, schema and transaction changes. `VOpen` is checked on its own (only `json_each` and
 * `json_tree` may be opened), and the opcodes that read an opened virtual table are harmless. `Insert` and friends
 * are not here: a query fills ephemeral tables with them (DISTINCT, UNION, materialized CTEs), and a write to a real
 * table needs `OpenWrite` and a write `Transaction`, both refused.
 */
const deniedOpcodes: ReadonlySet<string> = new Set([
  'OpenWrite',
  'VCreate',
  'VDestroy',
  'VUpdate',
  'VRename',
  'VBegin',
  'VCheck',
  'ParseSchema',
  'Destroy',
  'CreateBtree',
  'DropTable',
  'DropIndex',
  'DropTrigger',
  'Vacuum',
  'IncrVacuum',
  'SetCookie',
  'Expire',
  'JournalMode',
  'Pagecount',
  'MaxPgcnt',
  'AutoCommit',
  'Savepoint',
  'SqlExec',
  'IntegrityCk',
  'LoadAnalysis',
  'ResetCount',
]);

function invalid(reason: string): AevonError<'AEV_SQL_INVALID'> {
  return new AevonError('AEV_SQL_INVALID', { reason });
}

/**
 * A query with its `$n` parameters rewritten to SQLite named parameters `:pN` (bound from `{ pN: value }`: named
 * parameters leave no unbound slot when a number is skipped, as `?NNN` would), and the highest `n` it uses.
 */
export interface RewrittenSql {
  readonly sql: string;
  readonly paramsUsed: number;
}

/**
 * Scans the query text once: rewrites `$1..$n` outside literals, quoted names and comments to `:p1..:pn`, refuses
 * SQLite's other parameter forms (`?`, `:name`, `@name`, `$name`) so that only `$n` binds, and checks that the
 * first keyword is SELECT or WITH. Quoted parts are copied verbatim.
 * @throws AEV_SQL_INVALID
 */
export function rewriteSql(text: string): RewrittenSql {
  if (text.length > sqlTextLengthMax)
    throw invalid(`the query is longer than ${sqlTextLengthMax} characters`);
  let out = '';
  let paramsUsed = 0;
  let firstWord: string | null = null;
  let index = 0;
  const length = text.length;
  while (index < length) {
    const char = text[index] as string;
    const next = text[index + 1];
    if (char === '-' && next === '-') {
      const end = text.indexOf('\n', index);
      const stop = end === -1 ? length : end;
      out += text.slice(index, stop);
      index = stop;
      continue;
    }
    if (char === '/' && next === '*') {
      const end = text.indexOf('*/', index + 2);
      if (end === -1) throw invalid('an unterminated /* comment');
      out += text.slice(index, end + 2);
      index = end + 2;
      continue;
    }
    if (char === "'" || char === '"' || char === '`' || char === '[') {
      const close = char === '[' ? ']' : char;
      let end = index + 1;
      for (;;) {
        end = text.indexOf(close, end);
        if (end === -1) throw invalid(`an unterminated ${char} quote`);
        // A doubled quote stands for itself inside '...', "..." and `...`.
        if (close !== ']' && text[end + 1] === close) {
          end += 2;
          continue;
        }
        break;
      }
      if (firstWord === null) firstWord = '';
      out += text.slice(index, end + 1);
      index = end + 1;
      continue;
    }
    if (char === '$' || char === '?' || char === ':' || char === '@') {
      const match = /^\$([0-9]+)(?![A-Za-z0-9_$])/.exec(text.slice(index, index + 12));
      if (char === '$' && match !== null) {
        const n = Number(match[1]);
        if (n < 1 || n > sqlParamsMax)
          throw invalid(`parameter $${match[1]} is not between $1 and $${sqlParamsMax}`);
        paramsUsed = Math.max(paramsUsed, n);
        out += `:p${n}`;
        index += match[0].length;
        continue;
      }
      // `::` is not SQLite syntax, but a lone `:` or `@` is never valid outside a parameter either.
      throw invalid(`parameters are written $1, $2, ...; "${char}" is not accepted`);
    }
    if (/[A-Za-z_]/.test(char)) {
      const word = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(text.slice(index, index + 200))?.[0] ?? char;
      if (firstWord === null) firstWord = word.toLowerCase();
      out += word;
      index += word.length;
      continue;
    }
    if (firstWord === null && !/\s/.test(char) && char !== '(' && char !== ';') firstWord = '';
    out += char;
    index += 1;
  }
  if (firstWord !== 'select' && firstWord !== 'with')
    throw invalid('only a single SELECT or WITH query is accepted');
  return { sql: out, paramsUsed };
}

/** One row of `EXPLAIN`: the bytecode program of a statement. */
interface ExplainRow {
  readonly opcode: string;
  readonly p1: number | bigint;
  readonly p2: number | bigint;
  readonly p3: number | bigint;
  readonly p4: unknown;
  readonly p5: number | bigint;
}

/**
 * The virtual tables a query may open: JSON table-valued functions, to query jsonb and array columns. Every other
 * one (pragma functions, `dbstat`) reads outside the aggregates.
 */
export const allowedVirtualTables: readonly string[] = ['json_each', 'json_tree'];

/**
 * The `VOpen` operands of {@link allowedVirtualTables} on `db`: an eponymous virtual table is one object per
 * connection, and `EXPLAIN` names it by address (`vtab:42223988`), never by name. Computed for every guard, right
 * before the query's own `EXPLAIN`, so the two compare the same objects.
 */
function allowedVtabOperands(db: Database): ReadonlySet<string> {
  const operands = new Set<string>();
  for (const name of allowedVirtualTables) {
    const program = db.prepare(`EXPLAIN SELECT * FROM ${name}('[]')`).all() as ExplainRow[];
    const open = program.find((op) => op.opcode === 'VOpen');
    assert(open !== undefined && typeof open.p4 === 'string', `${name} opens a virtual table`);
    operands.add(open.p4);
  }
  return operands;
}

/** `OPFLAG_P2ISREG`: an `OpenRead` whose root page is taken from a register, so not known from the program. */
const rootPageInRegister = 0x10;

/**
 * Prepares `sql` on `db` (its parameters bound from `params`, as {@link rewriteSql} names them) and proves from its bytecode that it only reads aggregate tables: one statement, read-only
 * (`stmt.reader` and `stmt.readonly`), every `OpenRead` on a root page of `allowedRootPages` in the main database,
 * no opcode that writes, opens a virtual table or changes the schema, and no denied function.
 * @param allowedRootPages the `sqlite_schema.rootpage` of every aggregate table and of its indexes.
 * @throws AEV_SQL_INVALID
 */
export function guardQuery(
  db: Database,
  sql: string,
  params: Readonly<Record<string, unknown>>,
  allowedRootPages: ReadonlySet<number>,
): Statement {
  let statement: Statement;
  let explain: Statement;
  try {
    statement = db.prepare(sql);
    explain = db.prepare(`EXPLAIN ${sql}`);
  } catch (error) {
    throw invalid(driverMessage(error));
  }
  if (!statement.reader || !statement.readonly)
    throw invalid('only a read-only query that returns rows is accepted');
  const vtabs = allowedVtabOperands(db);
  const program = explain.safeIntegers(true).all(params) as ExplainRow[];
  for (const op of program) {
    if (deniedOpcodes.has(op.opcode)) throw invalid(`the query may not use ${op.opcode}`);
    if (op.opcode === 'VOpen' && (typeof op.p4 !== 'string' || !vtabs.has(op.p4)))
      throw invalid(
        `the query may only open ${allowedVirtualTables.join(' and ')} as virtual tables`,
      );
    if (op.opcode === 'Transaction' && Number(op.p2) !== 0)
      throw invalid('the query may not write');
    if (op.opcode === 'OpenRead' || op.opcode === 'ReopenIdx') {
      if (
        Number(op.p3) !== 0 ||
        (Number(op.p5) & rootPageInRegister) !== 0 ||
        !allowedRootPages.has(Number(op.p2))
      )
        throw invalid('the query may only read aggregate tables');
    }
    if (op.opcode === 'Function' || op.opcode === 'PureFunc' || op.opcode === 'AggStep') {
      const name = functionName(op.p4);
      if (name !== null && deniedSqlFunctions.has(name))
        throw invalid(`the function ${name}() is not allowed`);
    }
  }
  return statement;
}

/** The function name in an `EXPLAIN` p4 such as `load_extension(1)`. */
function functionName(p4: unknown): string | null {
  if (typeof p4 !== 'string') return null;
  const match = /^([A-Za-z0-9_]+)\(/.exec(p4);
  return match?.[1]?.toLowerCase() ?? null;
}

/** The driver's message, for an `AEV_SQL_INVALID` reason (SQLite's own text: `no such table: events`). */
export function driverMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
