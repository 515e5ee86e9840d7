import { parseArgs } from 'node:util';
import type { ApiKeyScope } from '@aevon/core';
import { apiKeyScopes, assert, checkApiKeyName, isApiKeyScope } from '@aevon/core';
import type { KeysRequest } from './commands/keys.js';
import { exitCodeForError, exitCodes, formatErrorLine } from './exit-codes.js';
import type { CommandName } from './help.js';
import { commandHelp, commandNames, generalHelp } from './help.js';
import { readCliVersion } from './version.js';

/** The process surroundings a CLI run uses, injectable so that tests need not spawn a process. */
export interface CliEnvironment {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Writes one line to standard output. */
  readonly stdout: (line: string) => void;
  /** Writes one line to standard error. */
  readonly stderr: (line: string) => void;
  /**
   * Redraws a progress line in place, when standard error is a terminal (null ends it); without it, long commands
   * print a progress line on `stderr` every second instead.
   */
  readonly progress?: (line: string | null) => void;
}

interface ParsedArgs {
  readonly command: string | undefined;
  readonly operands: readonly string[];
  readonly config: string | undefined;
  readonly isHelp: boolean;
  readonly isVersion: boolean;
  readonly isMigrate: boolean;
  readonly rule: string | undefined;
  readonly principal: string | undefined;
  /** `--scope` values, in order (`aevon keys create`). */
  readonly scopes: readonly string[];
  /** `--name` (`aevon keys create`). */
  readonly name: string | undefined;
  /** `--param` values, in order (`aevon sql`). */
  readonly params: readonly string[];
  /** `--limit` (`aevon sql`). */
  readonly limit: string | undefined;
  /** `--json` (`aevon sql`). */
  readonly isJson: boolean;
  /** `--status` (`aevon migrate`). */
  readonly isStatus: boolean;
}

/**
 * Runs the `aevon` command line and resolves to the process exit code (see {@link exitCodes}). Usage errors print
 * one line on stderr and give 2; a command that fails prints `aevon: AEV_CODE: message` and the code's exit code.
 */
export async function runCli(
  argv: readonly string[],
  environment: CliEnvironment,
): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseCommandLine(argv);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    environment.stderr(`aevon: ${message} (see aevon --help)`);
    return exitCodes.usage;
  }
  if (args.isVersion) {
    environment.stdout(readCliVersion());
    return exitCodes.ok;
  }
  if (args.command === undefined) {
    (args.isHelp ? environment.stdout : environment.stderr)(generalHelp);
    return args.isHelp ? exitCodes.ok : exitCodes.usage;
  }
  if (!isCommandName(args.command)) {
    environment.stderr(`aevon: unknown command ${JSON.stringify(args.command)} (see aevon --help)`);
    return exitCodes.usage;
  }
  const usageError = checkUsage(args.command, args);
  if (usageError !== null) {
    environment.stderr(`aevon: ${usageError} (see aevon ${args.command} --help)`);
    return exitCodes.usage;
  }
  if (args.command === 'help' || args.isHelp) return printHelp(args, environment);
  try {
    // Loaded on use, so that `--help` and usage errors answer without loading Fastify or a database driver.
    const { loadConfig } = await import('./config/load-config.js');
    const configFile = args.config === undefined ? {} : { configFile: args.config };
    const config = await loadConfig({ cwd: environment.cwd, env: environment.env, ...configFile });
    if (args.command === 'keys') {
      const request = keysRequest(args);
      assert(typeof request !== 'string', 'keys arguments were checked before');
      const { runKeys } = await import('./commands/keys.js');
      return await runKeys(config, environment, request);
    }
    if (args.command === 'migrate') {
      const { runMigrate } = await import('./commands/migrate.js');
      return await runMigrate(config, environment, { isStatus: args.isStatus });
    }
    if (args.command === 'sql') {
      const { parseParam, runSql } = await import('./commands/sql.js');
      return await runSql(config, environment, {
        sql: args.operands[0] ?? '',
        params: args.params.map(parseParam),
        ...(args.limit === undefined ? {} : { limit: Number(args.limit) }),
        isJson: args.isJson,
      });
    }
    if (args.command === 'verify') {
      const { runVerify } = await import('./commands/maintenance.js');
      return await runVerify(config, environment, {
        ...(args.rule === undefined ? {} : { rule: args.rule }),
        ...(args.principal === undefined ? {} : { principal: args.principal }),
      });
    }
    if (args.command === 'rebuild' && args.rule !== undefined) {
      const { runRebuild } = await import('./commands/maintenance.js');
      return await runRebuild(config, environment, args.rule);
    }
    const { runServe } = await import('./commands/serve.js');
    return await runServe(config, environment, { migrate: args.isMigrate });
  } catch (error) {
    environment.stderr(formatErrorLine(error));
    return exitCodeForError(error);
  }
}

function parseCommandLine(argv: readonly string[]): ParsedArgs {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'V' },
      migrate: { type: 'boolean' },
      rule: { type: 'string' },
      principal: { type: 'string' },
      scope: { type: 'string', multiple: true },
      name: { type: 'string' },
      param: { type: 'string', multiple: true },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      status: { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  return {
    command: positionals[0],
    operands: positionals.slice(1),
    config: values.config,
    isHelp: values.help === true,
    isVersion: values.version === true,
    isMigrate: values.migrate === true,
    rule: values.rule,
    principal: values.principal,
    scopes: values.scope ?? [],
    name: values.name,
    params: values.param ?? [],
    limit: values.limit,
    isJson: values.json === true,
    isStatus: values.status === true,
  };
}

function isCommandName(name: string): name is CommandName {
  return (commandNames as readonly string[]).includes(name);
}

/** A usage error of a known command, or null. */
function checkUsage(command: CommandName, args: ParsedArgs): string | null {
  if (command === 'help') {
    const topic = args.operands[0];
    if (args.operands.length > 1) return 'help takes at most one command';
    if (topic !== undefined && !isCommandName(topic))
      return `unknown command ${JSON.stringify(topic)}`;
    return null;
  }
  if (command === 'keys') {
    if (args.isHelp) return null;
    const request = keysRequest(args);
    return typeof request === 'string' ? request : null;
  }
  if (args.scopes.length > 0) return 'option --scope is only for aevon keys create';
  if (args.name !== undefined) return 'option --name is only for aevon keys create';
  if (args.isStatus && command !== 'migrate') return 'option --status is only for aevon migrate';
  if (command === 'sql') return sqlUsage(args);
  if (args.params.length > 0) return 'option --param is only for aevon sql';
  if (args.limit !== undefined) return 'option --limit is only for aevon sql';
  if (args.isJson) return 'option --json is only for aevon sql';
  if (args.operands.length > 0) return `unexpected argument ${JSON.stringify(args.operands[0])}`;
  if (args.isMigrate && command !== 'serve') return `option --migrate is only for aevon serve`;
  if (args.rule !== undefined && command !== 'verify' && command !== 'rebuild')
    return 'option --rule is only for aevon verify and aevon rebuild';
  if (args.principal !== undefined && command !== 'verify')
    return 'option --principal is only for aevon verify';
  if (command === 'rebuild' && args.rule === undefined && !args.isHelp)
    return 'aevon rebuild needs --rule RULE';
  return null;
}

/** A usage error of `aevon sql`, or null. */
function sqlUsage(args: ParsedArgs): string | null {
  if (args.isHelp) return null;
  if (args.isMigrate) return 'option --migrate is only for aevon serve';
  if (args.rule !== undefined || args.principal !== undefined)
    return 'options --rule and --principal are not for aevon sql';
  const [sql, extra] = args.operands;
  if (sql === undefined || sql.trim() === '')
    return 'aevon sql needs a query: aevon sql "SELECT ..."';
  if (extra !== undefined)
    return `unexpected argument ${JSON.stringify(extra)} (quote the query as one argument)`;
  if (args.limit !== undefined && !/^[1-9]\d{0,8}$/.test(args.limit))
    return '--limit takes a positive integer';
  return null;
}

const keysActions = ['create', 'list', 'revoke'] as const;

/** The request of `aevon keys ...`, or a usage error. */
function keysRequest(args: ParsedArgs): KeysRequest | string {
  const [action, ...rest] = args.operands;
  if (action === undefined) return 'keys needs an action: create, list or revoke';
  if (!(keysActions as readonly string[]).includes(action))
    return `unknown keys action ${JSON.stringify(action)}; use create, list or revoke`;
  if (args.isMigrate) return 'option --migrate is only for aevon serve';
  if (action !== 'create' && args.scopes.length > 0)
    return 'option --scope is only for aevon keys create';
  if (action !== 'create' && args.name !== undefined)
    return 'option --name is only for aevon keys create';
  if (action === 'revoke') {
    if (rest.length !== 1) return 'keys revoke takes one key id (see aevon keys list)';
    return { action, id: rest[0] ?? '' };
  }
  if (rest.length > 0) return `unexpected argument ${JSON.stringify(rest[0])}`;
  if (action === 'list') return { action };
  return createRequest(args);
}

function createRequest(args: ParsedArgs): KeysRequest | string {
  if (args.scopes.length === 0)
    return `keys create needs at least one --scope (${apiKeyScopes.join(', ')})`;
  const scopes: ApiKeyScope[] = [];
  for (const scope of args.scopes) {
    if (!isApiKeyScope(scope))
      return `unknown scope ${JSON.stringify(scope)}; use ${apiKeyScopes.join(', ')}`;
    scopes.push(scope);
  }
  const name = args.name ?? '';
  const problem = checkApiKeyName(name);
  if (problem !== null) return `--name ${problem}`;
  return { action: 'create', scopes, name };
}

function printHelp(args: ParsedArgs, environment: CliEnvironment): number {
  const topic = args.command === 'help' ? args.operands[0] : args.command;
  environment.stdout(
    topic !== undefined && isCommandName(topic) ? commandHelp[topic] : generalHelp,
  );
  return exitCodes.ok;
}
