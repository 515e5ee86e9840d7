// The crash harness's server process: `node packages/cli/dist/bin.js serve --migrate`, configured only through
// AEVON_* variables in a temporary working directory, on port 0 (a fresh port at every start), killed with SIGKILL.
import { spawn } from 'node:child_process';
import type { ChildProcess, ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The built CLI the harness spawns (`npx tsc -b` first). */
export const binPath = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

/** The harness's two rules: the seed's count rule and a sum rule over `data.tokens`. */
export const crashRuleFiles = [
  { name: 'count_api_requests', sourceEvent: 'api.request', operator: 'count' },
  { name: 'tokens_used', sourceEvent: 'llm.call', operator: 'sum', field: 'tokens' },
] as const;

/** Writes `<workdir>/rules/*.yaml` (the harness's rules) and an empty `<workdir>/schemas/`. */
export function writeCrashWorkdir(workdir: string): void {
  mkdirSync(join(workdir, 'rules'), { recursive: true });
  mkdirSync(join(workdir, 'schemas'), { recursive: true });
  for (const rule of crashRuleFiles) {
    const lines = [
      `name: '${rule.name}'`,
      `source_event: '${rule.sourceEvent}'`,
      `operator: '${rule.operator}'`,
      ...('field' in rule ? [`field: '${rule.field}'`] : []),
    ];
    writeFileSync(join(workdir, 'rules', `${rule.name}.yaml`), `${lines.join('\n')}\n`);
  }
}

/** One running `aevon serve`. */
export interface CrashServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** SIGKILL (a crash: no shutdown, no final sweep); resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (a graceful shutdown); resolves with the exit code. */
  stop(): Promise<number | null>;
  /** What the process printed so far. */
  output(): string;
}

/** How to start a server. */
export interface CrashServerOptions {
  readonly workdir: string;
  readonly dsn: string;
  /** `aggregation.cron_interval`: `200ms` sweeps during the load, `1h` never. */
  readonly cronInterval: string;
}

const startTimeoutMs = 60_000;
const alive = new Set<ChildProcess>();
// A failed run must not leave servers behind.
process.on('exit', () => {
  for (const child of alive) child.kill('SIGKILL');
});

/**
 * Spawns `aevon serve --migrate` and kills it with SIGKILL after `delayMs`, whatever it is doing then (loading,
 * opening or migrating the database, listening, sweeping).
 */
export async function killDuringStartup(
  options: CrashServerOptions,
  delayMs: number,
): Promise<void> {
  const child = spawnServer(options);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await sleep(delayMs);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exited;
}

/**
 * Spawns `aevon serve --migrate` and resolves once it listens and `GET /ready` answers 200.
 * @throws Error with the process output when it exits or is not ready within 60 s.
 */
export async function startCrashServer(options: CrashServerOptions): Promise<CrashServer> {
  const child = spawnServer(options);
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const server: CrashServer = {
    url: '',
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    output: () => text,
  };
  const deadline = performance.now() + startTimeoutMs;
  for (;;) {
    const url = /listening on (http:\/\/\S+)/.exec(text)?.[1];
    if (url !== undefined && (await isReady(url))) return { ...server, url };
    const isGone = child.exitCode !== null || child.signalCode !== null;
    if (isGone || performance.now() > deadline) {
      const how = isGone ? `exited ${child.exitCode ?? child.signalCode}` : 'timed out';
      await server.kill();
      throw new Error(`aevon serve did not become ready (${how}):\n${text}`);
    }
    await sleep(20);
  }
}

async function isReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

function spawnServer(options: CrashServerOptions): ChildProcessByStdio<null, Readable, Readable> {
  if (!existsSync(binPath)) throw new Error(`${binPath} is missing: run \`npx tsc -b\` first`);
  const child = spawn(process.execPath, [binPath, 'serve', '--migrate'], {
    cwd: options.workdir,
    env: {
      PATH: process.env['PATH'] ?? '',
      AEVON_DATABASE_DSN: options.dsn,
      AEVON_SCHEMA_PATH: join(options.workdir, 'schemas'),
      AEVON_AGGREGATION_CONFIG_DIR: join(options.workdir, 'rules'),
      AEVON_AGGREGATION_CRON_INTERVAL: options.cronInterval,
      AEVON_SERVER_HOST: '127.0.0.1',
      AEVON_SERVER_PORT: '0',
      AEVON_LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  alive.add(child);
  child.once('exit', () => alive.delete(child));
  return child;
}
