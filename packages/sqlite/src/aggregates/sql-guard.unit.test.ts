// Goal: the lexical pass of the SQL guard: `$n` becomes `:pN` only outside literals, quoted names and comments,
// other parameter forms are refused, and only SELECT/WITH may start the text.
import { describe, expect, it } from 'vitest';
import { AevonError } from '@aevon/core';
import { rewriteSql, sqlParamsMax, sqlTextLengthMax } from './sql-guard.js';

function reason(text: string): string {
  try {
    rewriteSql(text);
  } catch (error) {
    expect(error).toBeInstanceOf(AevonError);
    expect((error as AevonError).code).toBe('AEV_SQL_INVALID');
    return (error as AevonError<'AEV_SQL_INVALID'>).details.reason;
  }
  throw new Error(`accepted: ${text}`);
}

describe('rewriteSql', () => {
  it.each([
    ['SELECT $1', 'SELECT :p1', 1],
    ['select * from t where a = $2 and b = $10', 'select * from t where a = :p2 and b = :p10', 10],
    ['SELECT \'$1\', "$2", `$3`, [$4] FROM t', 'SELECT \'$1\', "$2", `$3`, [$4] FROM t', 0],
    ["SELECT 'it''s $1' || $1", "SELECT 'it''s $1' || :p1", 1],
    ['SELECT "a""$1" FROM t', 'SELECT "a""$1" FROM t', 0],
    ['-- $1 in a comment\nSELECT 1', '-- $1 in a comment\nSELECT 1', 0],
    [
      '/* $1 */ WITH x AS (SELECT $1) SELECT * FROM x',
      '/* $1 */ WITH x AS (SELECT :p1) SELECT * FROM x',
      1,
    ],
    ['  (SELECT 1)', '  (SELECT 1)', 0],
    ['SELECT a$1 FROM t', 'SELECT a$1 FROM t', 0],
    ['SELECT $1;', 'SELECT :p1;', 1],
  ])('rewrites %j', (text, sql, paramsUsed) => {
    expect(rewriteSql(text)).toEqual({ sql, paramsUsed });
  });

  it.each([
    ['SELECT ?', '"?"'],
    ['SELECT ?1', '"?"'],
    ['SELECT :a', '":"'],
    ['SELECT @a', '"@"'],
    ['SELECT $a', '"$"'],
    ['SELECT $1a', '"$"'],
    ['SELECT $0', '$0'],
    [`SELECT $${sqlParamsMax + 1}`, `$${sqlParamsMax + 1}`],
    ["SELECT 'open", 'unterminated'],
    ['SELECT "open', 'unterminated'],
    ['SELECT [open', 'unterminated'],
    ['SELECT 1 /* open', 'unterminated'],
    ['DELETE FROM t', 'SELECT or WITH'],
    ['/* SELECT */ UPDATE t SET a = 1', 'SELECT or WITH'],
    ['PRAGMA user_version', 'SELECT or WITH'],
    ["'SELECT'", 'SELECT or WITH'],
    ['', 'SELECT or WITH'],
    ['-- only a comment', 'SELECT or WITH'],
    ['x'.repeat(sqlTextLengthMax + 1), 'longer than'],
  ])('refuses %j', (text, part) => {
    expect(reason(text)).toContain(part);
  });
});
