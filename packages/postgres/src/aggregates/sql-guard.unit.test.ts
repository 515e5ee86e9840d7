import { describe, expect, it } from 'vitest';
import { checkReadOnlySql, lexSql, sqlTextLengthMax } from './sql-guard.js';

function refusal(sql: string): string {
  try {
    checkReadOnlySql(sql);
  } catch (error) {
    expect(error).toMatchObject({ code: 'AEV_SQL_INVALID' });
    return (error as { details: { reason: string } }).details.reason;
  }
  throw new Error(`accepted: ${sql}`);
}

describe('checkReadOnlySql', () => {
  it('accepts one SELECT or WITH and reports the highest parameter', () => {
    // Given / When / Then
    expect(checkReadOnlySql('SELECT * FROM account WHERE id = $2 OR id = $1')).toEqual({
      sql: 'SELECT * FROM account WHERE id = $2 OR id = $1',
      paramsUsed: 2,
    });
    expect(checkReadOnlySql('with a as (select 1) select * from a').paramsUsed).toBe(0);
  });

  it('drops one trailing semicolon and what follows it', () => {
    expect(checkReadOnlySql('SELECT 1; -- done').sql).toBe('SELECT 1');
  });

  it('refuses more than one statement', () => {
    expect(refusal('SELECT 1; SELECT 2')).toMatch(/one statement/);
    expect(refusal('SELECT 1;;')).toMatch(/one statement/);
  });

  it('refuses a statement that does not start with SELECT or WITH', () => {
    expect(refusal('DELETE FROM account')).toMatch(/SELECT or WITH/);
    expect(refusal('  -- comment\n  VALUES (1)')).toMatch(/SELECT or WITH/);
    expect(refusal('(SELECT 1)')).toMatch(/SELECT or WITH/);
    expect(refusal('SET ROLE postgres')).toMatch(/SELECT or WITH/);
    expect(refusal('')).toMatch(/empty/);
    expect(refusal('/* only a comment */')).toMatch(/empty/);
  });

  it('refuses set_config however it is spelled', () => {
    expect(refusal("SELECT set_config('role', 'postgres', true)")).toMatch(/set_config/);
    expect(refusal("SELECT SET_CONFIG('role', 'postgres', true)")).toMatch(/set_config/);
    expect(refusal(`SELECT "set_config"('role', 'postgres', true)`)).toMatch(/set_config/);
    expect(refusal("SELECT pg_catalog.set_config('role', 'postgres', true)")).toMatch(/pg_catalog/);
    expect(refusal("SELECT 1set_config('role', 'postgres', true)")).toMatch(/set_config/);
  });

  it('refuses functions that run SQL text, take session locks or signal backends', () => {
    expect(refusal("SELECT query_to_xml('select 1', true, true, '')")).toMatch(/query_to_xml/);
    expect(refusal('SELECT pg_advisory_lock(1)')).toMatch(/pg_advisory_lock/);
    expect(refusal("SELECT ts_stat('select v from t')")).toMatch(/ts_stat/);
    expect(refusal('SELECT pg_terminate_backend(1)')).toMatch(/pg_terminate_backend/);
  });

  it('refuses the system catalogs and pg_ functions', () => {
    expect(refusal('SELECT * FROM pg_class')).toMatch(/pg_class/);
    expect(refusal('SELECT * FROM pg_catalog.pg_roles')).toMatch(/pg_catalog/);
    expect(refusal('SELECT * FROM "pg_catalog"."pg_authid"')).toMatch(/pg_catalog/);
    expect(refusal('SELECT table_name FROM information_schema.tables')).toMatch(
      /information_schema/,
    );
    expect(refusal('SELECT pg_sleep(10)')).toMatch(/pg_sleep/);
  });

  it('refuses U&"..." identifiers, whose escapes could spell a denied name', () => {
    expect(refusal(`SELECT U&"\\0073et_config"('role', 'x', true)`)).toMatch(/U&/);
  });

  it('refuses writing CTEs, SELECT INTO and locking clauses', () => {
    expect(refusal('WITH d AS (DELETE FROM account RETURNING *) SELECT * FROM d')).toMatch(
      /DELETE/,
    );
    expect(refusal('WITH i AS (INSERT INTO account VALUES (1) RETURNING *) SELECT 1')).toMatch(
      /INSERT/,
    );
    expect(refusal('SELECT * INTO copy FROM account')).toMatch(/INTO/);
    expect(refusal('SELECT * FROM account FOR UPDATE')).toMatch(/locking/);
    expect(refusal('SELECT * FROM account FOR NO KEY UPDATE')).toMatch(/locking|UPDATE/);
    expect(refusal('SELECT * FROM account for share')).toMatch(/locking/);
    expect(refusal('SELECT * FROM account FOR KEY SHARE')).toMatch(/locking/);
  });

  it('accepts denied words inside strings, quoted names other than denied ones, comments and dollar quotes', () => {
    // Given: every denied word hidden where PostgreSQL reads it as data
    const sql = [
      "SELECT 'set_config; DELETE' AS a, E'it\\'s; set_config' AS b, $$ ; delete $$ AS c,",
      '$tag$ set_config $tag$ AS d, "update" AS e /* ; delete /* nested */ still */',
      "FROM account -- ; set_config('role')",
      'WHERE substring(name FROM 1 FOR 2) = $1',
    ].join('\n');
    // When / Then
    expect(checkReadOnlySql(sql).paramsUsed).toBe(1);
  });

  it('refuses unterminated strings, identifiers, dollar quotes and comments', () => {
    expect(refusal("SELECT 'abc")).toMatch(/string/);
    expect(refusal('SELECT "abc')).toMatch(/identifier/);
    expect(refusal('SELECT $x$ abc')).toMatch(/dollar/);
    expect(refusal('SELECT 1 /* abc /* def */')).toMatch(/comment/);
    // A backslash does not escape a quote in a standard string, so this one is closed early and then open.
    expect(refusal("SELECT 'a\\' ; DELETE FROM t")).toMatch(/one statement/);
  });

  it('refuses parameters out of range and a query over the length limit', () => {
    expect(refusal('SELECT $0')).toMatch(/out of range/);
    expect(refusal('SELECT $1001')).toMatch(/out of range/);
    expect(refusal(`SELECT ${'1+'.repeat(sqlTextLengthMax)}1`)).toMatch(/longer/);
  });
});

describe('lexSql', () => {
  it('folds words, keeps quoted names and reads E-strings with backslash escapes', () => {
    // Given / When
    const tokens = lexSql(`SELECT "Mixed""Case", E'a\\'b', x::int FROM t`);
    // Then
    expect(tokens.map((t) => [t.kind, t.value])).toEqual([
      ['word', 'select'],
      ['quoted', 'Mixed"Case'],
      ['punctuation', ','],
      ['string', "a\\'b"],
      ['punctuation', ','],
      ['word', 'x'],
      ['punctuation', '::'],
      ['word', 'int'],
      ['word', 'from'],
      ['word', 't'],
    ]);
  });
});
