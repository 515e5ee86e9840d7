// Goal: argument handling of runCli (help, usage errors, exit codes) without spawning a process or reading files.
import { AevonError } from '@aevon/core';
import { describe, expect, it } from 'vitest';
import { exitCodeForError, exitCodes, formatErrorLine } from './exit-codes.js';
import { runCli } from './main.js';

async function run(argv: readonly string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    cwd: '/nonexistent',
    env: {},
    stdout: (line) => out.push(line),
    stderr: (line) => err.push(line),
  });
  return { code, out: out.join('\n'), err };
}

describe('runCli', () => {
  it.each([['--help'], ['-h'], ['help']])(
    'prints the general help for %s and exits 0',
    async (flag) => {
      const result = await run([flag]);
      expect(result.code).toBe(0);
      expect(result.out).toContain('Usage: aevon <command>');
      expect(result.out).toContain('keys      create, list or revoke API keys');
      expect(result.out).toContain('sql       run a read-only SQL query');
    },
  );

  it.each([
    [['serve', '--help'], 'Usage: aevon serve'],
    [['--help', 'migrate'], 'Usage: aevon migrate'],
    [['help', 'serve'], 'Usage: aevon serve'],
    [['verify', '--help'], 'Usage: aevon verify'],
    [['rebuild', '--help'], 'Usage: aevon rebuild --rule RULE'],
    [['keys', '--help'], 'Usage: aevon keys create --scope SCOPE'],
    [['help', 'keys'], 'aevon keys revoke ID'],
    [['sql', '--help'], 'Usage: aevon sql "SELECT ..."'],
    [['help', 'sql'], '--param V'],
    [['migrate', '--help'], '--status'],
  ])('prints command help for %j', async (argv, expected) => {
    const result = await run(argv);
    expect(result.code).toBe(0);
    expect(result.out).toContain(expected);
  });

  it.each([
    [['--bogus'], 'Unknown option'],
    [['serve', '--port', '1'], 'Unknown option'],
    [['deploy'], 'unknown command "deploy"'],
    [['migrate', 'now'], 'unexpected argument "now"'],
    [['migrate', '--migrate'], 'only for aevon serve'],
    [['help', 'deploy'], 'unknown command "deploy"'],
    [['serve', '--config'], 'argument missing'],
    [['rebuild'], 'aevon rebuild needs --rule RULE'],
    [['serve', '--rule', 'r'], 'only for aevon verify and aevon rebuild'],
    [['rebuild', '--rule', 'r', '--principal', 'p'], '--principal is only for aevon verify'],
    [['keys'], 'keys needs an action'],
    [['keys', 'rotate'], 'unknown keys action "rotate"'],
    [['keys', 'create'], 'needs at least one --scope'],
    [['keys', 'create', '--scope', 'root'], 'unknown scope "root"'],
    [['keys', 'create', '--scope', 'admin', 'extra'], 'unexpected argument "extra"'],
    [['keys', 'create', '--scope', 'admin', '--name', 'x'.repeat(101)], '--name must be at most'],
    [['keys', 'list', '--scope', 'admin'], 'only for aevon keys create'],
    [['keys', 'revoke'], 'takes one key id'],
    [['keys', 'revoke', 'a', 'b'], 'takes one key id'],
    [['serve', '--scope', 'admin'], 'only for aevon keys create'],
    [['migrate', '--name', 'x'], 'only for aevon keys create'],
    [['sql'], 'aevon sql needs a query'],
    [['sql', '  '], 'aevon sql needs a query'],
    [['sql', 'SELECT', '1'], 'quote the query as one argument'],
    [['sql', 'SELECT 1', '--limit', '0'], '--limit takes a positive integer'],
    [['sql', 'SELECT 1', '--limit', 'ten'], '--limit takes a positive integer'],
    [['sql', 'SELECT 1', '--migrate'], 'only for aevon serve'],
    [['sql', 'SELECT 1', '--status'], '--status is only for aevon migrate'],
    [['serve', '--param', '1'], '--param is only for aevon sql'],
    [['migrate', '--json'], '--json is only for aevon sql'],
    [['verify', '--limit', '3'], '--limit is only for aevon sql'],
  ])('exits 2 with one stderr line for %j', async (argv, expected) => {
    const result = await run(argv);
    expect(result.code).toBe(exitCodes.usage);
    expect(result.err).toHaveLength(1);
    expect(result.err[0]).toMatch(/^aevon: /);
    expect(result.err[0]).toContain(expected);
  });

  it('prints the help on stderr and exits 2 without a command', async () => {
    const result = await run([]);
    expect(result.code).toBe(2);
    expect(result.err.join('\n')).toContain('Usage: aevon');
  });
});

describe('exit codes', () => {
  it.each([
    [new AevonError('AEV_CONFIG_INVALID', { reason: 'x' }), 2],
    [new AevonError('AEV_STORAGE_UNAVAILABLE', { reason: 'x' }), 3],
    [new AevonError('AEV_STORAGE_SCHEMA_MISMATCH', { expected: 2, actual: 1 }), 4],
    [new AevonError('AEV_RULE_UNKNOWN', { rule: 'r' }), 2],
    [new AevonError('AEV_INTERNAL', {}), 1],
    [new AevonError('AEV_SQL_INVALID', { reason: 'x' }), 6],
    [new AevonError('AEV_SQL_TIMEOUT', { timeoutMs: 5 }), 6],
    [new AevonError('AEV_MIGRATION_INVALID', { reason: 'x' }), 7],
    [new AevonError('AEV_DDL_INVALID', { reason: 'x' }), 7],
    [new Error('boom'), 1],
  ])('maps %s to %i', (error, code) => {
    expect(exitCodeForError(error)).toBe(code);
  });

  it('formats an AevonError as one line with its code', () => {
    const error = new AevonError('AEV_CONFIG_INVALID', {
      reason: 'bad\nvalue',
      source: 'aevon.yaml',
    });
    expect(formatErrorLine(error)).toBe('aevon: AEV_CONFIG_INVALID: aevon.yaml: bad value');
  });
});
