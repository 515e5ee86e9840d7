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
  /** `database.pool_max`: connections to PostgreSQL (ignored by SQLite). */
  readonly poolMax: number;
  /** `database.pool_waiters_max`: requests waiting for a PostgreSQL connection; more are 429 (ignored by SQLite). */
  readonly poolWaitersMax: number;
  /** `database.connect_timeout` in milliseconds: the longest wait for a PostgreSQL connection, then 503. */
  readonly connectTimeoutMs: number;
}

/** The server's bounds on work in progress (docs/reference/config.md, "Overload"). */
export interface ServerLimitsConfig {
  /** `server.requests_in_flight_max`: requests handled at once; more are 429 before their body is read. */
  readonly requestsInFlightMax: number;
  /** `server.state_queries_in_flight_max`: state queries answered at once; more are 429. */
  readonly stateQueriesInFlightMax: number;
  /** `server.append_queue_max`: appends waiting for a group commit; more are 429. */
  readonly appendQueueMax: number;
  /** `server.request_timeout` in milliseconds: the time a client has to send a whole request. */
  readonly requestTimeoutMs: number;
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
  readonly serverLimits: ServerLimitsConfig;
  /** `log.level`. */
  readonly logLevel: LogLevel;
  /**
   * `auth.required`: `true` always asks for an API key, `false` never does, and null (`auto`, the default) asks once
   * a key has been created in the database.
   */
  readonly authRequired: boolean | null;
  /** `definitions.migrations_dir`: the definitions migrations (`NNNN_name.sql`) `aevon migrate` applies. */
  readonly definitionsMigrationsDir: string;
  /** `sql.timeout` in milliseconds: the longest a `POST /v1/sql` query runs. */
  readonly sqlTimeoutMs: number;
  /** `sql.rows_max`: the most rows a `POST /v1/sql` answer holds (a request's `limit` may only lower it). */
  readonly sqlRowsMax: number;
}

/** Every config key, its default, and its environment variable (`AEVON_` + the path in upper snake case). */
export const configKeys = {
  'database.dsn': { default: 'sqlite:./data/aevon.db', env: 'AEVON_DATABASE_DSN' },
  'database.pool_max': { default: '10', env: 'AEVON_DATABASE_POOL_MAX' },
  'database.pool_waiters_max': { default: '1000', env: 'AEVON_DATABASE_POOL_WAITERS_MAX' },
  'database.connect_timeout': { default: '5s', env: 'AEVON_DATABASE_CONNECT_TIMEOUT' },
  'schema.path': { default: './schemas', env: 'AEVON_SCHEMA_PATH' },
  'aggregation.config_dir': {
    default: './config/aggregations',
    env: 'AEVON_AGGREGATION_CONFIG_DIR',
  },
  'aggregation.cron_interval': { default: '1m', env: 'AEVON_AGGREGATION_CRON_INTERVAL' },
  'server.host': { default: '127.0.0.1', env: 'AEVON_SERVER_HOST' },
  'server.port': { default: '8080', env: 'AEVON_SERVER_PORT' },
  'server.requests_in_flight_max': { default: '1024', env: 'AEVON_SERVER_REQUESTS_IN_FLIGHT_MAX' },
  'server.state_queries_in_flight_max': {
    default: '64',
    env: 'AEVON_SERVER_STATE_QUERIES_IN_FLIGHT_MAX',
  },
  'server.append_queue_max': { default: '100000', env: 'AEVON_SERVER_APPEND_QUEUE_MAX' },
  'server.request_timeout': { default: '30s', env: 'AEVON_SERVER_REQUEST_TIMEOUT' },
  'log.level': { default: 'warn', env: 'AEVON_LOG_LEVEL' },
  'auth.required': { default: 'auto', env: 'AEVON_AUTH_REQUIRED' },
  'definitions.migrations_dir': {
    default: './migrations',
    env: 'AEVON_DEFINITIONS_MIGRATIONS_DIR',
  },
  'sql.timeout': { default: '5s', env: 'AEVON_SQL_TIMEOUT' },
  'sql.rows_max': { default: '1000', env: 'AEVON_SQL_ROWS_MAX' },
} as const;

/** A config key path such as `server.port`. */
export type ConfigKey = keyof typeof configKeys;

/** The default config file name, looked up in the working directory. */
export const defaultConfigFileName = 'aevon.yaml';
