// Where the HTTP benchmarks (metering, memory) give each `aevon serve` process a fresh database: a SQLite file in a
// temporary folder, or a PostgreSQL database created on the benchmark's server and dropped at the end.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { SweepBacklogProbe } from './sweep-backlog.js';
import { createPostgresBacklogProbe, createSqliteBacklogProbe } from './sweep-backlog.js';

/** A fresh database: the DSN the server gets, whether it must migrate it, and a probe on its sweep progress. */
export interface EngineDatabase {
  readonly dsn: string;
  /** Pass `--migrate` (PostgreSQL: a fresh database needs its schema). */
  readonly migrate: boolean;
  readonly probe: SweepBacklogProbe;
}

/** One engine: where each phase gets a fresh database. */
export interface EngineTarget {
  readonly name: 'sqlite' | 'postgres';
  /** The engine's durability settings, reported with the figures. */
  readonly config: Record<string, unknown>;
  fresh(label: string): Promise<EngineDatabase>;
  /** Closes the probes and drops the databases this target created. */
  dispose(): Promise<void>;
}

/** SQLite files `<dir>/<label>.db`; the folder is the caller's to remove. */
export function sqliteTarget(dir: string): EngineTarget {
  return {
    name: 'sqlite',
    // The server opens SQLite with its defaults: WAL, synchronous=FULL.
    config: { journal_mode: 'WAL', synchronous: 'FULL' },
    fresh: async (label) => {
      mkdirSync(dir, { recursive: true });
      const path = join(dir, `${label}.db`);
      return { dsn: `sqlite:${path}`, migrate: false, probe: createSqliteBacklogProbe(path) };
    },
    dispose: async () => undefined,
  };
}

/** PostgreSQL databases `<stem>_<timestamp>_<label>` on the server at `serverUrl`. */
export async function postgresTarget(serverUrl: string, stem: string): Promise<EngineTarget> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const settings = await admin.query<{ sync: string; version: string }>(
    `SELECT current_setting('synchronous_commit') AS sync, current_setting('server_version') AS version`,
  );
  const syncCommit = settings.rows[0]?.sync ?? 'unknown';
  const version = settings.rows[0]?.version ?? 'unknown';
  const prefix = `${stem}_${Date.now()}`;
  const created: string[] = [];
  const probes: SweepBacklogProbe[] = [];
  return {
    name: 'postgres',
    config: {
      synchronous_commit: syncCommit,
      server: new URL(serverUrl).host,
      serverVersion: version,
    },
    fresh: async (label) => {
      const name = `${prefix}_${label}`;
      await admin.query(`CREATE DATABASE ${name}`);
      created.push(name);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      const dsn = url.toString();
      // Connected on first use, once the server has created the tables it reads.
      let connected: Promise<SweepBacklogProbe> | null = null;
      const probe = (): Promise<SweepBacklogProbe> => {
        connected ??= createPostgresBacklogProbe(dsn).then((p) => {
          probes.push(p);
          return p;
        });
        return connected;
      };
      return {
        dsn,
        migrate: true,
        probe: {
          backlog: async () => (await probe()).backlog(),
          checkpoint: async () => (await probe()).checkpoint(),
          head: async () => (await probe()).head(),
          resetMetering: async () => (await probe()).resetMetering(),
          close: async () => undefined,
        },
      };
    },
    dispose: async () => {
      for (const probe of probes) await probe.close();
      for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** `AEVON_BENCH_POSTGRES_URL`, else `AEVON_TEST_POSTGRES_URL`, else the local default server. */
export function postgresServerUrl(): string {
  return (
    // An empty variable counts as unset, as shells make it easy to pass one.
    nonEmpty(process.env['AEVON_BENCH_POSTGRES_URL']) ??
    nonEmpty(process.env['AEVON_TEST_POSTGRES_URL']) ??
    'postgres://postgres@127.0.0.1:5432/postgres'
  );
}

/**
 * Runs `body` once per engine named in `engines` (in the order sqlite, postgres), each on its own target, and
 * disposes of the target afterwards.
 * @throws Error for an engine name other than sqlite and postgres.
 */
export async function forEachEngine(
  engines: readonly string[],
  options: { readonly dir: string; readonly postgresStem: string },
  body: (target: EngineTarget) => Promise<void>,
): Promise<void> {
  for (const name of engines) {
    if (name !== 'sqlite' && name !== 'postgres') {
      throw new Error(`unknown engine ${JSON.stringify(name)}: use sqlite and/or postgres`);
    }
  }
  for (const name of ['sqlite', 'postgres'] as const) {
    if (!engines.includes(name)) continue;
    const target =
      name === 'sqlite'
        ? sqliteTarget(join(options.dir, 'sqlite'))
        : await postgresTarget(postgresServerUrl(), options.postgresStem);
    try {
      await body(target);
    } finally {
      await target.dispose();
    }
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}
