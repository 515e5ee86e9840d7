import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from './support/embedded-postgres.js';

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
  keepFailureExitCode();
  const server = await startEmbeddedPostgres({ persistent: false });
  process.env['AEVON_TEST_POSTGRES_URL'] = server.url;
  project.provide('postgresUrl', server.url);
  return () => server.dispose();
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
