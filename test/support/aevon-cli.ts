// Spawning the built `aevon` command in tests: run one command to its end, or start `aevon serve` and wait for its
// listening line, in a temporary working directory holding aevon.yaml and the seed rule. Build first: `npx tsc -b`.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The built CLI entry point. */
export const binPath = join(repoRoot, 'packages/cli/dist/bin.js');

/** Throws when the CLI has not been built. */
export function assertCliBuilt(): void {
  if (!existsSync(binPath)) throw new Error(`${binPath} is missing: run \`npx tsc -b\` first`);
}

/** A spawned `aevon` process. */
export interface Run {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
}

/** Spawns `aevon ARGS` in `cwd` with only PATH and `env` in its environment. */
export function runAevon(
  args: readonly string[],
  cwd: string,
  env: Record<string, string> = {},
): Run {
  const child = spawn(process.execPath, [binPath, ...args], {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

/** Runs `aevon ARGS` to its end. */
export async function runToEnd(
  args: readonly string[],
  cwd: string,
  env: Record<string, string> = {},
) {
  const run = runAevon(args, cwd, env);
  const code = await run.exit;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** Starts `aevon serve` and resolves with its base URL once it prints the listening line. */
export async function serve(
  cwd: string,
  env: Record<string, string> = {},
): Promise<Run & { readonly url: string }> {
  const run = runAevon(['serve'], cwd, env);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const match = /listening on (http:\/\/\S+)/.exec(run.stdout());
    if (match?.[1] !== undefined) return { ...run, url: match[1] };
    if (run.child.exitCode !== null || Date.now() > deadline) {
      run.child.kill('SIGKILL');
      throw new Error(`aevon serve did not start:\n${run.stdout()}\n${run.stderr()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Sends SIGTERM and resolves with the exit code. */
export async function stop(run: Run): Promise<number | null> {
  run.child.kill('SIGTERM');
  return run.exit;
}

/**
 * A temporary working directory with aevon.yaml (SQLite, 1 s sweeps, port 0, plus `extraYaml`, whole top-level
 * sections) and the seed's rule.
 */
export function createWorkdir(extraYaml = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'aevon-e2e-'));
  mkdirSync(join(dir, 'config', 'aggregations'), { recursive: true });
  mkdirSync(join(dir, 'schemas'));
  copyFileSync(
    join(repoRoot, 'config/aggregations/count_api_requests.yaml'),
    join(dir, 'config/aggregations/count_api_requests.yaml'),
  );
  writeFileSync(
    join(dir, 'aevon.yaml'),
    'database:\n  dsn: "sqlite:./data/aevon.db"\naggregation:\n  cron_interval: "1s"\nserver:\n  port: 0\n' +
      extraYaml,
  );
  return dir;
}

/** POSTs a JSON body. */
export const postJson = (url: string, body: unknown) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
