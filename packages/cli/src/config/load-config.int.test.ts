// Goal: configuration precedence (defaults < file < environment), path resolution and AEV_CONFIG_INVALID messages.
// Method: real files in a temporary folder per test.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAevonError } from '@aevon/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from './load-config.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'aevon-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function configError(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    if (isAevonError(error, 'AEV_CONFIG_INVALID')) return error.message;
    throw error;
  }
  throw new Error('expected AEV_CONFIG_INVALID');
}

describe('loadConfig', () => {
  it('uses the defaults, relative to the working directory, when there is no aevon.yaml', async () => {
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config).toEqual({
      file: null,
      database: {
        dsn: 'sqlite:./data/aevon.db',
        baseDir: dir,
        source: 'default',
        poolMax: 10,
        poolWaitersMax: 1000,
        connectTimeoutMs: 5000,
      },
      schemaPath: join(dir, 'schemas'),
      aggregationConfigDir: join(dir, 'config/aggregations'),
      cronInterval: '1m',
      cronIntervalMs: 60_000,
      serverHost: '127.0.0.1',
      serverPort: 8080,
      serverLimits: {
        requestsInFlightMax: 1024,
        stateQueriesInFlightMax: 64,
        appendQueueMax: 100_000,
        requestTimeoutMs: 30_000,
      },
      logLevel: 'warn',
      authRequired: null,
      definitionsMigrationsDir: join(dir, 'migrations'),
      sqlTimeoutMs: 5_000,
      sqlRowsMax: 1_000,
    });
  });

  it('reads the definitions migrations folder and the SQL limits from the file and the environment', async () => {
    writeFileSync(
      join(dir, 'aevon.yaml'),
      'definitions:\n  migrations_dir: ./ddl\nsql:\n  timeout: 2s\n  rows_max: 50\n',
    );
    expect(await loadConfig({ cwd: dir, env: {} })).toMatchObject({
      definitionsMigrationsDir: join(dir, 'ddl'),
      sqlTimeoutMs: 2_000,
      sqlRowsMax: 50,
    });
    const env = {
      AEVON_DEFINITIONS_MIGRATIONS_DIR: '/abs/m',
      AEVON_SQL_TIMEOUT: '500ms',
      AEVON_SQL_ROWS_MAX: '7',
    };
    expect(await loadConfig({ cwd: dir, env })).toMatchObject({
      definitionsMigrationsDir: '/abs/m',
      sqlTimeoutMs: 500,
      sqlRowsMax: 7,
    });
    await expect(loadConfig({ cwd: dir, env: { AEVON_SQL_ROWS_MAX: '0' } })).rejects.toMatchObject({
      code: 'AEV_CONFIG_INVALID',
      details: { reason: expect.stringContaining('sql.rows_max') },
    });
  });

  it('reads ./aevon.yaml and resolves its relative paths against its folder', async () => {
    writeFileSync(
      join(dir, 'aevon.yaml'),
      'database:\n  dsn: "postgres://u:p@h/db"\nschema:\n  path: ./s\naggregation:\n  config_dir: rules\n' +
        '  cron_interval: 2m\nserver:\n  port: 9090\n  host: 0.0.0.0\nlog:\n  level: info\n' +
        'auth:\n  required: false\n',
    );
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config).toMatchObject({
      file: join(dir, 'aevon.yaml'),
      database: { dsn: 'postgres://u:p@h/db', baseDir: dir, source: join(dir, 'aevon.yaml') },
      schemaPath: join(dir, 's'),
      aggregationConfigDir: join(dir, 'rules'),
      cronIntervalMs: 120_000,
      serverHost: '0.0.0.0',
      serverPort: 9090,
      logLevel: 'info',
      authRequired: false,
    });
  });

  it('reads --config FILE, resolving paths against that file, not the working directory', async () => {
    mkdirSync(join(dir, 'etc'));
    writeFileSync(
      join(dir, 'etc', 'other.yaml'),
      'schema:\n  path: ./schemas\ndatabase:\n  dsn: sqlite:a.db\n',
    );
    const config = await loadConfig({ cwd: dir, env: {}, configFile: 'etc/other.yaml' });
    expect(config.file).toBe(join(dir, 'etc', 'other.yaml'));
    expect(config.schemaPath).toBe(join(dir, 'etc', 'schemas'));
    expect(config.database.baseDir).toBe(join(dir, 'etc'));
  });

  it('lets AEVON_* environment variables override the file', async () => {
    writeFileSync(join(dir, 'aevon.yaml'), 'server:\n  port: 9090\n');
    const config = await loadConfig({
      cwd: dir,
      env: {
        AEVON_SERVER_PORT: '7070',
        AEVON_SERVER_HOST: '::1',
        AEVON_DATABASE_DSN: 'sqlite::memory:',
        AEVON_SCHEMA_PATH: 'x',
        AEVON_AGGREGATION_CONFIG_DIR: '/abs/rules',
        AEVON_AGGREGATION_CRON_INTERVAL: '30s',
        AEVON_LOG_LEVEL: 'error',
        AEVON_AUTH_REQUIRED: 'true',
        AEVON_TEST_POSTGRES_URL: 'ignored: not a config key',
      },
    });
    expect(config).toMatchObject({
      serverPort: 7070,
      serverHost: '::1',
      database: { dsn: 'sqlite::memory:', source: 'environment variable AEVON_DATABASE_DSN' },
      schemaPath: join(dir, 'x'),
      aggregationConfigDir: '/abs/rules',
      cronIntervalMs: 30_000,
      logLevel: 'error',
      authRequired: true,
    });
  });

  it('reads the overload limits from the file and the environment', async () => {
    writeFileSync(
      join(dir, 'aevon.yaml'),
      'database:\n  pool_max: 4\n  pool_waiters_max: 50\n  connect_timeout: 2s\n' +
        'server:\n  requests_in_flight_max: 32\n  state_queries_in_flight_max: 8\n' +
        '  request_timeout: 10s\n',
    );
    const config = await loadConfig({
      cwd: dir,
      env: { AEVON_SERVER_APPEND_QUEUE_MAX: '500', AEVON_DATABASE_POOL_MAX: '6' },
    });
    expect(config.database).toMatchObject({
      poolMax: 6,
      poolWaitersMax: 50,
      connectTimeoutMs: 2000,
    });
    expect(config.serverLimits).toEqual({
      requestsInFlightMax: 32,
      stateQueriesInFlightMax: 8,
      appendQueueMax: 500,
      requestTimeoutMs: 10_000,
    });
  });

  it('accepts an empty file', async () => {
    writeFileSync(join(dir, 'aevon.yaml'), '# nothing\n');
    expect((await loadConfig({ cwd: dir, env: {} })).serverPort).toBe(8080);
  });

  it.each([
    ['colour: red\n', 'unknown key "colour"'],
    ['server:\n  prot: 1\n', 'unknown key "server.prot"'],
    ['server: 8080\n', 'server: must be a mapping'],
    ['server:\n  port: 70000\n', 'server.port: must be an integer from 0 to 65535, got 70000'],
    ['server:\n  port: eighty\n', 'server.port: must be an integer'],
    ['aggregation:\n  cron_interval: soon\n', 'aggregation.cron_interval: must be a duration'],
    ['database:\n  dsn: 42\n', 'database.dsn: must be a non-empty string'],
    ['log:\n  level: loud\n', 'log.level: must be one of'],
    ['auth:\n  required: yes please\n', 'auth.required: must be true, false or auto'],
    ['server:\n  requests_in_flight_max: 0\n', 'server.requests_in_flight_max: must be an integer'],
    ['database:\n  pool_max: many\n', 'database.pool_max: must be an integer from 1'],
    ['database:\n  connect_timeout: never\n', 'database.connect_timeout: must be a duration'],
    ['- a\n- b\n', 'must hold a mapping'],
    ['server: [\n', 'not valid YAML'],
  ])('rejects %j with AEV_CONFIG_INVALID naming the key and the file', async (yaml, expected) => {
    expect.assertions(2);
    writeFileSync(join(dir, 'aevon.yaml'), yaml);
    const message = await configError(() => loadConfig({ cwd: dir, env: {} }));
    expect(message).toContain(join(dir, 'aevon.yaml'));
    expect(message).toContain(expected);
  });

  it('names the environment variable that holds a bad value', async () => {
    const message = await configError(() =>
      loadConfig({ cwd: dir, env: { AEVON_SERVER_PORT: '-1' } }),
    );
    expect(message).toBe(
      'environment variable AEVON_SERVER_PORT: server.port: must be an integer from 0 to 65535, got "-1"',
    );
  });

  it('rejects a --config file that does not exist', async () => {
    const message = await configError(() =>
      loadConfig({ cwd: dir, env: {}, configFile: 'missing.yaml' }),
    );
    expect(message).toContain(join(dir, 'missing.yaml'));
    expect(message).toContain('ENOENT');
  });
});
