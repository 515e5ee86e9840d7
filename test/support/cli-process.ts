// Spawning the built `aevon` command (packages/cli/dist/bin.js; run `npx tsc -b` first) for end-to-end tests.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The built CLI entry point. */
export const binPath = join(repoRoot, 'packages/cli/dist/bin.js');

/** A running `aevon` process and what it printed so far. */
export interface AevonProcess {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
}

/** Starts `aevon ...args` in `cwd` with only PATH and `env` in its environment. */
export function spawnAevon(
  args: readonly string[],
  cwd: string,
  env: Record<string, string> = {},
): AevonProcess {
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

/** Runs `aevon ...args` to its end. */
export async function runAevon(
  args: readonly string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }> {
  const run = spawnAevon(args, cwd, env);
  const code = await run.exit;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** Starts `aevon serve` and resolves with its base URL once it prints the listening line. */
export async function serveAevon(
  cwd: string,
  env: Record<string, string> = {},
): Promise<AevonProcess & { readonly url: string }> {
  const run = spawnAevon(['serve'], cwd, env);
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
