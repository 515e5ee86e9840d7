import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const binPath = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

/** How to start one `aevon serve` process. */
export interface AevonServerOptions {
  /** The working directory: holds `rules/` and `schemas/` (see {@link writeWorkdir}), and no aevon.yaml. */
  readonly workdir: string;
  /** `database.dsn`. */
  readonly dsn: string;
  /** `aggregation.cron_interval`, such as `1s` or `1h`. */
  readonly cronInterval: string;
  /** Pass `--migrate` (PostgreSQL: a fresh database needs its schema). */
  readonly migrate: boolean;
  /** How long to wait for the listening line. */
  readonly startTimeoutMs: number;
  /** More `AEVON_*` settings (limits, say). Default: none. */
  readonly env?: Readonly<Record<string, string>>;
}

/** A running server process (`aevon serve`, or the ceiling server). */
export interface AevonServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The server's own process id (node runs the server directly, no shell in between). */
  readonly pid: number;
  /**
   * Sends SIGTERM and resolves once the process has exited, with how long that took: the server's shutdown closes
   * HTTP, then the engine, which runs a final sweep of at most 10 s.
   * @throws Error when the process exits non-zero or does not exit within `timeoutMs` (it is then killed).
   */
  stop(timeoutMs: number): Promise<{ readonly seconds: number }>;
  /** Kills the process with SIGKILL (a crash: no final sweep) and waits for it to exit. */
  kill(): Promise<void>;
}

/** A metering rule file of the benchmark, as `config/aggregations/*.yaml` holds them. */
export interface RuleFile {
  readonly name: string;
  readonly sourceEvent: string;
  readonly operator: 'count' | 'sum';
  readonly field?: string;
}

/** Creates `<workdir>/rules/<name>.yaml` for each rule, and an empty `<workdir>/schemas/`. */
export function writeWorkdir(workdir: string, rules: readonly RuleFile[]): void {
  mkdirSync(join(workdir, 'rules'), { recursive: true });
  mkdirSync(join(workdir, 'schemas'), { recursive: true });
  for (const rule of rules) {
    const lines = [
      `name: '${rule.name}'`,
      `source_event: '${rule.sourceEvent}'`,
      `operator: '${rule.operator}'`,
      ...(rule.field === undefined ? [] : [`field: '${rule.field}'`]),
    ];
    writeFileSync(join(workdir, 'rules', `${rule.name}.yaml`), `${lines.join('\n')}\n`);
  }
}

/**
 * Spawns `node packages/cli/dist/bin.js serve` (build first) configured only through `AEVON_*` variables, on port 0,
 * and resolves with its URL once it prints its listening line.
 * @throws Error with the process output when it exits or stays silent for `startTimeoutMs`.
 */
export async function startAevonServer(options: AevonServerOptions): Promise<AevonServer> {
  return spawnListening(
    'aevon serve',
    [binPath, 'serve', ...(options.migrate ? ['--migrate'] : [])],
    {
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
        ...options.env,
      },
      startTimeoutMs: options.startTimeoutMs,
    },
  );
}

const ceilingPath = fileURLToPath(new URL('./ceiling-server.js', import.meta.url));

/**
 * Spawns the HTTP ceiling (`bench/dist/ceiling-server.js`: a bare Fastify server whose POST routes parse the JSON
 * body and answer 202 `{"status":"accepted"}`) on 127.0.0.1, port 0, and resolves once it listens.
 * @throws Error with the process output when it exits or stays silent for `startTimeoutMs`.
 */
export async function startCeilingServer(startTimeoutMs: number): Promise<AevonServer> {
  return spawnListening('the ceiling server', [ceilingPath], {
    cwd: process.cwd(),
    env: { PATH: process.env['PATH'] ?? '' },
    startTimeoutMs,
  });
}

/** Spawns `node <args>` and resolves once it prints `listening on <url>`. */
async function spawnListening(
  what: string,
  args: readonly string[],
  options: { cwd: string; env: Record<string, string>; startTimeoutMs: number },
): Promise<AevonServer> {
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // A benchmark that fails half-way must not leave its server running: kill it when this process exits.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.on('exit', killOnExit);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      process.off('exit', killOnExit);
      resolve(code);
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const fail = (why: string): void => {
      clearInterval(poll);
      child.kill('SIGKILL');
      reject(new Error(`${what} ${why}:\n${output}`));
    };
    const deadline = performance.now() + options.startTimeoutMs;
    const poll = setInterval(() => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1] !== undefined) {
        clearInterval(poll);
        resolve(match[1]);
      } else if (child.exitCode !== null) fail(`exited with ${child.exitCode}`);
      else if (performance.now() > deadline) fail('did not start in time');
    }, 20);
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${what} has no process id`);
  return {
    url,
    pid,
    stop: async (timeoutMs) => {
      const start = performance.now();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      const seconds = (performance.now() - start) / 1000;
      if (code !== 0) throw new Error(`${what} exited with ${code}:\n${output}`);
      return { seconds };
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
