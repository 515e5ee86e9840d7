// Helpers for end-to-end tests that run the built `aevon serve` (build first: `npx tsc -b`) and talk to it over real
// HTTP with a client whose every request has a deadline, so that a hanging server fails a test instead of stalling it.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const binPath = join(repoRoot, 'packages/cli/dist/bin.js');

/** A running `aevon serve`. */
export interface AevonProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  readonly output: () => string;
  /** SIGTERM, then resolves with the exit code (the graceful shutdown's). */
  readonly stop: () => Promise<number | null>;
}

/**
 * Creates a temporary working directory with the quick start's rule (`config/aggregations`) and an empty
 * `schemas/`, and no aevon.yaml: tests configure the server through `AEVON_*` variables.
 */
export function createServeWorkdir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, 'config', 'aggregations'), { recursive: true });
  mkdirSync(join(dir, 'schemas'));
  copyFileSync(
    join(repoRoot, 'config/aggregations/count_api_requests.yaml'),
    join(dir, 'config/aggregations/count_api_requests.yaml'),
  );
  return dir;
}

/** Spawns `aevon serve <args>` on 127.0.0.1, port 0, and resolves once it prints its listening line. */
export async function startServe(
  cwd: string,
  env: Record<string, string>,
  args: readonly string[] = [],
): Promise<AevonProcess> {
  const child = spawn(process.execPath, [binPath, 'serve', ...args], {
    cwd,
    env: {
      PATH: process.env['PATH'] ?? '',
      AEVON_SERVER_HOST: '127.0.0.1',
      AEVON_SERVER_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = performance.now() + 30_000;
  for (;;) {
    const match = /listening on (http:\/\/\S+)/.exec(output);
    if (match?.[1] !== undefined) {
      return {
        url: match[1],
        child,
        output: () => output,
        stop: () => {
          child.kill('SIGTERM');
          return exit;
        },
      };
    }
    if (child.exitCode !== null || performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`aevon serve did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One answer, or `status: 0` with `error` when the request failed or passed its deadline without an answer. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  readonly error?: string;
}

/** A keep-alive HTTP client of at most `socketsMax` connections, each request bounded by `timeoutMs`. */
export interface TestHttpClient {
  post(path: string, json: unknown): Promise<HttpAnswer>;
  get(path: string): Promise<HttpAnswer>;
  close(): void;
}

/** Creates a {@link TestHttpClient} on `baseUrl`. */
export function createTestHttpClient(
  baseUrl: string,
  options: { readonly socketsMax: number; readonly timeoutMs: number },
): TestHttpClient {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: options.socketsMax });
  const send = (method: string, path: string, json?: unknown): Promise<HttpAnswer> =>
    new Promise((resolve) => {
      const body = json === undefined ? undefined : JSON.stringify(json);
      const headers: Record<string, string | number> =
        body === undefined
          ? {}
          : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
      const failed = (error: string): void => resolve({ status: 0, headers: {}, body: '', error });
      const req = request(
        { host: url.hostname, port: url.port, path, method, agent, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error) => failed(error.message));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      req.setTimeout(options.timeoutMs, () => {
        req.destroy(new Error(`no answer within ${options.timeoutMs} ms`));
      });
      req.on('error', (error) => failed(error.message));
      req.end(body);
    });
  return {
    post: (path, json) => send('POST', path, json),
    get: (path) => send('GET', path),
    close: () => agent.destroy(),
  };
}
