/** Log levels of `log.level` (Fastify's pino levels). */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One of {@link logLevels}. */
export type LogLevel = (typeof logLevels)[number];

/** The database section: the DSN plus what is needed to resolve and report it. */
export interface DatabaseConfig {
  /** `sqlite:./data/aevon.db`, `sqlite::memory:`, `postgres://...` or `postgresql://...`. */
  readonly dsn: string;
  /** The folder a relative SQLite path resolves against: the config file's folder, or the working directory. */
  readonly baseDir: string;
  /** Where the DSN came from (a file path, `environment variable AEVON_DATABASE_DSN`, or `default`). */
  readonly source: string;
}

/**
 * The resolved configuration of `aevon serve` and `aevon migrate` (docs/reference/config.md). Paths are absolute.
 */
export interface AevonConfig {
  /** The config file read, or null when none was (defaults and environment only). */
  readonly file: string | null;
  readonly database: DatabaseConfig;
  /** `schema.path`: JSON Schemas at `<path>/<type>/<version>.json`. */
  readonly schemaPath: string;
  /** `aggregation.config_dir`: rule files (`*.yaml`). */
  readonly aggregationConfigDir: string;
  /** `aggregation.cron_interval` as written (`1m`). */
  readonly cronInterval: string;
  /** `aggregation.cron_interval` in milliseconds. */
  readonly cronIntervalMs: number;
  /** `server.host`: the address to listen on. */
  readonly serverHost: string;
  /** `server.port`: the TCP port to listen on; 0 picks a free one (the "listening on" line names it). */
  readonly serverPort: number;
  /** `log.level`. */
  readonly logLevel: LogLevel;
  /**
   * `auth.required`: `true` always asks for an API key, `false` never does, and null (`auto`, the default) asks once
   * a key has been created in the database.
   */
  readonly authRequired: boolean | null;
}

/** Every config key, its default, and its environment variable (`AEVON_` + the path in upper snake case). */
export const configKeys = {
  'database.dsn': { default: 'sqlite:./data/aevon.db', env: 'AEVON_DATABASE_DSN' },
  'schema.path': { default: './schemas', env: 'AEVON_SCHEMA_PATH' },
  'aggregation.config_dir': {
    default: './config/aggregations',
    env: 'AEVON_AGGREGATION_CONFIG_DIR',
  },
  'aggregation.cron_interval': { default: '1m', env: 'AEVON_AGGREGATION_CRON_INTERVAL' },
  'server.host': { default: '127.0.0.1', env: 'AEVON_SERVER_HOST' },
  'server.port': { default: '8080', env: 'AEVON_SERVER_PORT' },
  'log.level': { default: 'warn', env: 'AEVON_LOG_LEVEL' },
  'auth.required': { default: 'auto', env: 'AEVON_AUTH_REQUIRED' },
} as const;

/** A config key path such as `server.port`. */
export type ConfigKey = keyof typeof configKeys;

/** The default config file name, looked up in the working directory. */
export const defaultConfigFileName = 'aevon.yaml';
