import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { AevonError, assert, isPlainObject } from '@aevon/core';
import { parseDuration } from '@aevon/engine';
import type { AevonConfig, ConfigKey, LogLevel } from './config.js';
import { configKeys, defaultConfigFileName, logLevels } from './config.js';

/** What {@link loadConfig} reads. */
export interface LoadConfigOptions {
  /** The working directory: where `aevon.yaml` is looked up, and what `--config` and env paths resolve against. */
  readonly cwd: string;
  /** The environment (`AEVON_*` overrides). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `--config FILE`; when absent, `<cwd>/aevon.yaml` is read if it exists. */
  readonly configFile?: string;
}

interface RawValue {
  readonly value: unknown;
  readonly source: string;
  readonly baseDir: string;
}

/**
 * Loads the configuration: defaults, then the config file, then `AEVON_*` environment variables, each overriding the
 * previous. Relative paths resolve against the folder of the file that set them (the working directory for defaults
 * and environment variables).
 * @throws AEV_CONFIG_INVALID naming the key and its source for an unreadable or malformed file, an unknown key, or a
 *   bad value.
 */
export async function loadConfig(options: LoadConfigOptions): Promise<AevonConfig> {
  const file = options.configFile === undefined ? null : resolve(options.cwd, options.configFile);
  const defaultFile = resolve(options.cwd, defaultConfigFileName);
  const text = await readConfigText(file ?? defaultFile, file !== null);
  const source = text === null ? null : (file ?? defaultFile);
  const raw = new Map<ConfigKey, RawValue>();
  for (const [key, spec] of Object.entries(configKeys) as [
    ConfigKey,
    (typeof configKeys)[ConfigKey],
  ][]) {
    raw.set(key, { value: spec.default, source: 'default', baseDir: options.cwd });
  }
  if (text !== null && source !== null) {
    for (const [key, value] of readFileValues(text, source)) {
      raw.set(key, { value, source, baseDir: dirname(source) });
    }
  }
  for (const [key, spec] of Object.entries(configKeys) as [
    ConfigKey,
    (typeof configKeys)[ConfigKey],
  ][]) {
    const value = options.env[spec.env];
    if (value !== undefined && value !== '') {
      raw.set(key, { value, source: `environment variable ${spec.env}`, baseDir: options.cwd });
    }
  }
  return buildConfig(source, (key) => {
    const entry = raw.get(key);
    assert(entry !== undefined, `config key ${key} has a default`);
    return entry;
  });
}

async function readConfigText(path: string, isRequired: boolean): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (!isRequired && code === 'ENOENT') return null;
    const reason = `cannot read the config file: ${typeof code === 'string' ? code : String(error)}`;
    throw new AevonError('AEV_CONFIG_INVALID', { reason, source: path }, { cause: error });
  }
}

/** The leaf values a config file sets, by key path; rejects unknown keys and non-mapping sections. */
function readFileValues(text: string, source: string): Map<ConfigKey, unknown> {
  const invalid = (reason: string): AevonError<'AEV_CONFIG_INVALID'> =>
    new AevonError('AEV_CONFIG_INVALID', { reason, source });
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw invalid(`not valid YAML: ${message ?? ''}`);
  }
  const values = new Map<ConfigKey, unknown>();
  if (document === null || document === undefined) return values;
  if (!isPlainObject(document))
    throw invalid('the file must hold a mapping of sections (database, server, ...)');
  for (const [section, body] of Object.entries(document)) {
    const known = Object.keys(configKeys).filter((key) => key.startsWith(`${section}.`));
    if (known.length === 0) throw invalid(`unknown key ${JSON.stringify(section)}`);
    if (body === null || body === undefined) continue;
    if (!isPlainObject(body)) throw invalid(`${section}: must be a mapping of ${known.join(', ')}`);
    for (const [name, value] of Object.entries(body)) {
      const key = `${section}.${name}`;
      if (!isConfigKey(key))
        throw invalid(`unknown key ${JSON.stringify(key)} (known: ${known.join(', ')})`);
      if (value !== null && value !== undefined) values.set(key, value);
    }
  }
  return values;
}

function isConfigKey(key: string): key is ConfigKey {
  return Object.hasOwn(configKeys, key);
}

function buildConfig(file: string | null, get: (key: ConfigKey) => RawValue): AevonConfig {
  const dsn = get('database.dsn');
  const cronInterval = text(get('aggregation.cron_interval'), 'aggregation.cron_interval');
  const connectTimeout = get('database.connect_timeout');
  const requestTimeout = get('server.request_timeout');
  const sqlTimeout = get('sql.timeout');
  return {
    file,
    database: {
      dsn: text(dsn, 'database.dsn'),
      baseDir: dsn.baseDir,
      source: dsn.source,
      poolMax: count(get, 'database.pool_max'),
      poolWaitersMax: count(get, 'database.pool_waiters_max'),
      connectTimeoutMs: duration(
        text(connectTimeout, 'database.connect_timeout'),
        connectTimeout,
        'database.connect_timeout',
      ),
    },
    schemaPath: path(get('schema.path'), 'schema.path'),
    aggregationConfigDir: path(get('aggregation.config_dir'), 'aggregation.config_dir'),
    cronInterval,
    cronIntervalMs: duration(
      cronInterval,
      get('aggregation.cron_interval'),
      'aggregation.cron_interval',
    ),
    serverHost: text(get('server.host'), 'server.host'),
    serverPort: port(get('server.port')),
    serverLimits: {
      requestsInFlightMax: count(get, 'server.requests_in_flight_max'),
      stateQueriesInFlightMax: count(get, 'server.state_queries_in_flight_max'),
      appendQueueMax: count(get, 'server.append_queue_max'),
      requestTimeoutMs: duration(
        text(requestTimeout, 'server.request_timeout'),
        requestTimeout,
        'server.request_timeout',
      ),
    },
    logLevel: level(get('log.level')),
    authRequired: authRequired(get('auth.required')),
    definitionsMigrationsDir: path(get('definitions.migrations_dir'), 'definitions.migrations_dir'),
    sqlTimeoutMs: duration(text(sqlTimeout, 'sql.timeout'), sqlTimeout, 'sql.timeout'),
    sqlRowsMax: count(get, 'sql.rows_max'),
  };
}

function invalidValue(
  key: ConfigKey,
  entry: RawValue,
  expected: string,
): AevonError<'AEV_CONFIG_INVALID'> {
  const reason = `${key}: ${expected}, got ${JSON.stringify(entry.value) ?? String(entry.value)}`;
  return new AevonError('AEV_CONFIG_INVALID', { reason, source: entry.source });
}

function text(entry: RawValue, key: ConfigKey): string {
  if (typeof entry.value !== 'string' || entry.value.trim() === '') {
    throw invalidValue(key, entry, 'must be a non-empty string');
  }
  return entry.value.trim();
}

function path(entry: RawValue, key: ConfigKey): string {
  return resolve(entry.baseDir, text(entry, key));
}

function duration(value: string, entry: RawValue, key: ConfigKey): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    throw invalidValue(key, entry, 'must be a duration such as "30s", "1m" or "2m"');
  }
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw invalidValue(key, entry, 'must be a positive duration');
  }
  return ms;
}

/** A positive integer (a maximum): a YAML number or a decimal string. */
function count(get: (key: ConfigKey) => RawValue, key: ConfigKey): number {
  const entry = get(key);
  const value = typeof entry.value === 'number' ? String(entry.value) : entry.value;
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value.trim()) || Number(value) < 1) {
    throw invalidValue(key, entry, 'must be an integer from 1 to 999999999');
  }
  return Number(value);
}

function port(entry: RawValue): number {
  const value = typeof entry.value === 'number' ? String(entry.value) : entry.value;
  if (typeof value !== 'string' || !/^\d{1,5}$/.test(value.trim()) || Number(value) > 65_535) {
    throw invalidValue('server.port', entry, 'must be an integer from 0 to 65535');
  }
  return Number(value);
}

function level(entry: RawValue): LogLevel {
  const found = logLevels.find((candidate) => candidate === entry.value);
  if (found === undefined)
    throw invalidValue('log.level', entry, `must be one of ${logLevels.join(', ')}`);
  return found;
}

function authRequired(entry: RawValue): boolean | null {
  const value = typeof entry.value === 'string' ? entry.value.trim() : entry.value;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  if (value === 'auto') return null;
  throw invalidValue('auth.required', entry, 'must be true, false or auto');
}
