// Peer benchmark: Aevon against Emmett (@event-driven-io/emmett-sqlite and -postgresql) on the same workload, in the
// same run, on the same disk and database server, each through its public API with optimistic concurrency.
//
//   npm run bench:peer                       # full sizes, both engines (PostgreSQL as in bench:append)
//   npm run bench:peer -- --quick            # tiny sizes (the smoke test uses this)
//   npm run bench:peer -- --engines sqlite --concurrency 64 --out /tmp/results
//
// Workload: N streams, M events each, appended 1 or 10 events at a time, by one appender (sequential) or by C
// concurrent appenders that each own N/C of the streams (so no append ever conflicts). Every append carries the
// expected version of its stream: Aevon `expected: 'no_stream' | <last revision>`, Emmett
// `expectedStreamVersion: <number of events in the stream>` (0n for a new stream, which both Emmett stores check).
//
// Each library runs in its own child process: Emmett's PostgreSQL driver (dumbo) replaces node-postgres' global type
// parsers (int8 as bigint, JSON through its own parser), which would otherwise change what Aevon's queries get back,
// and separate processes also keep one library's garbage and JIT state out of the other's figures.
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { getSQLiteEventStore, sqliteConnection } from '@event-driven-io/emmett-sqlite';
import pg from 'pg';
import type { EventStore, PendingEvent } from '@aevon/core';
import { createEventStore, randomUuid } from '@aevon/core';
import { createPostgresStorage } from '@aevon/postgres';
import { createSqliteStorage } from '@aevon/sqlite';
import type { Measurement } from './report.js';
import { environment, measure, time, writeResults } from './report.js';
import { postgresServerUrl } from './engine-targets.js';
import { runBench } from './run-bench.js';

type Library = 'aevon' | 'emmett';
type Engine = 'sqlite' | 'postgres';

interface Sizes {
  readonly streams: number;
  /** Events per stream, by events per append. */
  readonly eventsPerStream: ReadonlyMap<number, number>;
  readonly concurrency: number;
  /** After this long a shape stops starting appends (each appender does at least one); see {@link runShape}. */
  readonly shapeBudgetSeconds: number;
}

// 64 concurrent appenders, as issue 4's target compares (each owns one stream); 50 events per stream so that a
// concurrent shape lasts long enough (3,200 events) for a stable rate.
const full: Sizes = {
  streams: 64,
  eventsPerStream: new Map([
    [1, 50],
    [10, 50],
  ]),
  concurrency: 64,
  shapeBudgetSeconds: 30,
};
// Two appenders only: Emmett's SQLite store retries a locked-out append after a 1 s busy timeout (see isLockedOut),
// and the smoke test must stay short.
const quick: Sizes = {
  streams: 4,
  eventsPerStream: new Map([
    [1, 2],
    [10, 20],
  ]),
  concurrency: 2,
  shapeBudgetSeconds: 5,
};

interface Shape {
  readonly key: string;
  readonly label: string;
  readonly batch: number;
  readonly appenders: number;
}

function shapesOf(sizes: Sizes): Shape[] {
  const shapes: Shape[] = [];
  for (const batch of sizes.eventsPerStream.keys()) {
    shapes.push({ key: `b${batch}s`, label: `append ${batch}, sequential`, batch, appenders: 1 });
    shapes.push({
      key: `b${batch}c`,
      label: `append ${batch}, ${sizes.concurrency} concurrent appenders`,
      batch,
      appenders: sizes.concurrency,
    });
  }
  return shapes;
}

/** What one library's worker process reports: a figure per shape and the settings it actually ran with. */
interface WorkerReport {
  readonly shapes: readonly {
    readonly key: string;
    readonly events: number;
    readonly seconds: number;
    /** Appends retried after the SQLite database was locked (nothing of such an attempt was written). */
    readonly retries: number;
    /** False when the shape hit its time budget before appending every event. */
    readonly complete: boolean;
  }[];
  readonly facts: Record<string, unknown>;
}

/** One library behind the workload: appends with an expected version, and says how it is configured. */
interface Contender {
  /** Appends `count` events to `stream`, which holds exactly `before` events, checking that expectation. */
  append(stream: string, before: number, count: number): Promise<void>;
  facts(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

const systemClock = { nowMs: () => Date.now() };
const systemRandom = { nextUint32: () => Math.floor(Math.random() * 2 ** 32) };

/** The same ~120-byte payload as the append benchmark's, as a metering client would send it. */
function payload(i: number) {
  return { route: '/v1/things', status: 200, durationMs: i % 500, tokens: 1 + (i % 7) };
}

function aevonEvents(count: number): PendingEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    id: randomUuid(systemRandom),
    type: 'api.request',
    data: payload(i),
    occurredAt: '2026-02-11T10:30:00Z',
  }));
}

function emmettEvents(count: number) {
  return Array.from({ length: count }, (_, i) => ({ type: 'api.request', data: payload(i) }));
}

function aevonContender(store: EventStore, facts: () => Record<string, unknown>): Contender {
  return {
    append: async (stream, before, count) => {
      await store.append(stream, aevonEvents(count), {
        expected: before === 0 ? 'no_stream' : BigInt(before - 1),
      });
    },
    facts: async () => facts(),
    close: () => store.close(),
  };
}

async function openContender(library: Library, engine: Engine, target: string): Promise<Contender> {
  const version = packageVersion(
    library === 'aevon'
      ? `@aevon/${engine}`
      : engine === 'sqlite'
        ? '@event-driven-io/emmett-sqlite'
        : '@event-driven-io/emmett-postgresql',
  );
  if (library === 'aevon' && engine === 'sqlite') {
    const storage = createSqliteStorage({ path: target, synchronous: 'full' });
    const store = createEventStore({ storage, clock: systemClock, random: systemRandom });
    return aevonContender(store, () => ({
      package: `@aevon/sqlite ${version}`,
      driver: `better-sqlite3 ${packageVersion('better-sqlite3')}`,
      sqliteVersion: storage.database.prepare('SELECT sqlite_version() AS v').pluck().get(),
      journal_mode: storage.database.pragma('journal_mode', { simple: true }),
      synchronous: storage.database.pragma('synchronous', { simple: true }),
      busy_timeout: storage.database.pragma('busy_timeout', { simple: true }),
      connections: 'one, shared by every append; concurrent appends are group-committed',
    }));
  }
  if (library === 'aevon') {
    const storage = await createPostgresStorage({ connectionString: target });
    const store = createEventStore({ storage, clock: systemClock, random: systemRandom });
    return aevonContender(store, () => ({
      package: `@aevon/postgres ${version}`,
      driver: `pg ${packageVersion('pg')}`,
      poolMax: 10,
      connections: 'pool of 10; concurrent appends are group-committed',
    }));
  }
  if (engine === 'sqlite') {
    // Emmett's default for a file: a new sqlite3 connection per operation, WAL set on each, no other pragma.
    const store = getSQLiteEventStore({ fileName: target });
    return {
      append: async (stream, before, count) => {
        await store.appendToStream(stream, emmettEvents(count), {
          expectedStreamVersion: BigInt(before),
        });
      },
      facts: async () => {
        // What a fresh connection of Emmett's connection factory runs with: Emmett sets journal_mode only, so
        // synchronous and busy_timeout are sqlite3's defaults, which every connection of the run had as well.
        const connection = sqliteConnection({ fileName: target });
        try {
          const one = async (sql: string) =>
            Object.values((await connection.querySingle<Record<string, unknown>>(sql)) ?? {})[0];
          return {
            package: `@event-driven-io/emmett-sqlite ${version}`,
            emmett: packageVersion('@event-driven-io/emmett'),
            driver: `sqlite3 ${packageVersion('sqlite3')}`,
            sqliteVersion: await one('SELECT sqlite_version() AS v'),
            journal_mode: await one('PRAGMA journal_mode'),
            synchronous: await one('PRAGMA synchronous'),
            busy_timeout: await one('PRAGMA busy_timeout'),
            connections: 'a new connection per append (Emmett default for a file)',
          };
        } finally {
          connection.close();
        }
      },
      close: async () => undefined,
    };
  }
  const store = getPostgreSQLEventStore(target);
  return {
    append: async (stream, before, count) => {
      await store.appendToStream(stream, emmettEvents(count), {
        expectedStreamVersion: BigInt(before),
      });
    },
    facts: async () => ({
      package: `@event-driven-io/emmett-postgresql ${version}`,
      emmett: packageVersion('@event-driven-io/emmett'),
      pongo: packageVersion('@event-driven-io/pongo'),
      driver: `pg ${packageVersion('pg')}`,
      poolMax: 10,
      connections: "pool of 10 (pg's default, Emmett's default pool)",
    }),
    close: () => store.close(),
  };
}

/** The version of an installed package, read from its package.json (which its exports map may not expose). */
function packageVersion(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.resolve(name)));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === name) return manifest.version ?? 'unknown';
    } catch {
      // no package.json at this level: keep climbing
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

/**
 * A write that found the SQLite database locked and wrote nothing. Emmett's SQLite store opens a connection per
 * append, and under concurrent appends its BEGIN IMMEDIATE can fail with SQLITE_BUSY; its rollback of the
 * transaction that never began then fails with "cannot rollback - no transaction is active", the error it throws.
 * Retrying with the same expected version is safe: had anything been written, the retry would fail its version check.
 */
function isLockedOut(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (
    code === 'SQLITE_BUSY' ||
    (code === 'SQLITE_ERROR' &&
      typeof message === 'string' &&
      message.includes('no transaction is active'))
  );
}

/**
 * Runs one shape: `appenders` appenders, each owning every `appenders`-th stream, appending `batch` at a time. Once
 * the shape's time budget has passed and at least one append of the shape has succeeded, every appender stops before
 * its next attempt (an abandoned retry wrote nothing), so a store that crawls under contention cannot hold the run
 * for an hour; the figure is then the events appended in the time taken, and `complete` is false.
 */
async function runShape(contender: Contender, shape: Shape, sizes: Sizes) {
  const perStream = sizes.eventsPerStream.get(shape.batch) ?? 0;
  const streams = Array.from({ length: sizes.streams }, (_, s) => `principal-${shape.key}-${s}`);
  let retries = 0;
  let events = 0;
  let complete = true;
  const deadline = performance.now() + sizes.shapeBudgetSeconds * 1000;
  const appender = async (a: number): Promise<void> => {
    for (let before = 0; before < perStream; before += shape.batch) {
      for (let s = a; s < streams.length; s += shape.appenders) {
        for (let attempt = 0; ; attempt += 1) {
          if (events > 0 && performance.now() > deadline) {
            complete = false;
            return;
          }
          try {
            await contender.append(streams[s] ?? '', before, shape.batch);
            events += shape.batch;
            break;
          } catch (error) {
            // A locked database rejected the whole attempt; anything else (a version conflict above all, which the
            // disjoint streams rule out) is a bug in the benchmark or the library, and ends the run.
            if (!isLockedOut(error) || attempt >= 1000) throw error;
            retries += 1;
            await delay(1 + (attempt % 10));
          }
        }
      }
    }
  };
  const seconds = await time(async () => {
    await Promise.all(Array.from({ length: shape.appenders }, (_, a) => appender(a)));
  });
  return { key: shape.key, events, seconds, retries, complete };
}

/**
 * Emmett's SQLite connection factory runs `PRAGMA journal_mode = WAL` without a callback and without waiting for it,
 * so it races the transaction's BEGIN on the same connection; when it loses (`cannot change into wal mode from within
 * a transaction`, or SQLITE_BUSY), sqlite3 emits an 'error' event that nobody listens to, which would crash the
 * process. The file is in WAL mode from the first connection on, so nothing is lost: the worker ignores exactly these
 * driver errors, counts them, and the result file says how many there were.
 */
function ignoreUnlistenedSqliteErrors(): Map<string, number> {
  const ignored = new Map<string, number>();
  process.on('uncaughtException', (error: Error & { code?: unknown }) => {
    if (typeof error.code === 'string' && error.code.startsWith('SQLITE_')) {
      ignored.set(error.message, (ignored.get(error.message) ?? 0) + 1);
      return;
    }
    console.error(error);
    process.exit(1);
  });
  return ignored;
}

async function worker(library: Library, engine: Engine, target: string, sizes: Sizes) {
  const ignored =
    library === 'emmett' && engine === 'sqlite' ? ignoreUnlistenedSqliteErrors() : new Map();
  const contender = await openContender(library, engine, target);
  try {
    // Warm up (schema creation, first connections) outside the timings.
    await contender.append('principal-warmup', 0, 1);
    const shapes = [];
    for (const shape of shapesOf(sizes)) shapes.push(await runShape(contender, shape, sizes));
    const facts = await contender.facts();
    const report: WorkerReport = {
      shapes,
      facts:
        ignored.size === 0
          ? facts
          : { ...facts, unlistenedDriverErrorsIgnored: Object.fromEntries(ignored) },
    };
    // The marker keeps the report apart from anything a library prints on stdout.
    console.log(`PEER_REPORT ${JSON.stringify(report)}`);
  } finally {
    await contender.close();
  }
}

const execFileAsync = promisify(execFile);
const self = fileURLToPath(import.meta.url);

async function spawnWorker(
  library: Library,
  engine: Engine,
  target: string,
  args: readonly string[],
): Promise<WorkerReport> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [self, '--worker', library, '--engine', engine, '--target', target, ...args],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('PEER_REPORT '));
  if (line === undefined) throw new Error(`${library} on ${engine} reported nothing:\n${stdout}`);
  return JSON.parse(line.slice('PEER_REPORT '.length)) as WorkerReport;
}

/** A result row per shape: Aevon measured, Emmett its baseline, so `ratio` is Aevon / Emmett. */
type PeerMeasurement = Measurement & {
  readonly library: 'Aevon';
  readonly baselineEvents: number;
  readonly baselineSeconds: number;
  readonly retries?: number;
  readonly baselineRetries?: number;
  /** Present (false) only when that library's run of the shape was cut at the time budget. */
  readonly complete?: false;
  readonly baselineComplete?: false;
};

function compare(
  engine: Engine,
  sizes: Sizes,
  aevon: WorkerReport,
  emmett: WorkerReport,
  emmettName: string,
): PeerMeasurement[] {
  return shapesOf(sizes).map((shape) => {
    const a = aevon.shapes.find((s) => s.key === shape.key);
    const e = emmett.shapes.find((s) => s.key === shape.key);
    if (a === undefined || e === undefined)
      throw new Error(`no figure for ${engine} ${shape.label}`);
    const row: PeerMeasurement = {
      ...measure(engine, shape.label, a.events, a.seconds, {
        name: emmettName,
        eventsPerSecond: e.events / e.seconds,
      }),
      // measure() rounds to whole events/s; a store that crawls (0.3 events/s) must not read as 0.
      eventsPerSecond: rate(a.events, a.seconds),
      baselineEventsPerSecond: rate(e.events, e.seconds),
      library: 'Aevon',
      baselineEvents: e.events,
      baselineSeconds: Math.round(e.seconds * 1e4) / 1e4,
      ...(a.retries > 0 ? { retries: a.retries } : {}),
      ...(e.retries > 0 ? { baselineRetries: e.retries } : {}),
      ...(a.complete ? {} : { complete: false as const }),
      ...(e.complete ? {} : { baselineComplete: false as const }),
    };
    console.log(JSON.stringify(row));
    return row;
  });
}

/** Events per second: whole numbers from 100 up, two decimals below. */
function rate(events: number, seconds: number): number {
  const perSecond = events / seconds;
  return perSecond >= 100 ? Math.round(perSecond) : Math.round(perSecond * 100) / 100;
}

/** What the shared table cannot show: retries after a locked SQLite database, and shapes cut at the time budget. */
function notes(rows: readonly PeerMeasurement[], sizes: Sizes): string {
  const lines = [
    '',
    '`events/s` is Aevon, `baseline events/s` is Emmett on the same workload in the same run; ' +
      '`ratio` = Aevon / Emmett (above 1: Aevon is faster).',
  ];
  const special = rows.filter(
    (r) =>
      r.retries !== undefined ||
      r.baselineRetries !== undefined ||
      r.complete === false ||
      r.baselineComplete === false,
  );
  if (special.length > 0) {
    lines.push(
      '',
      `Retried appends (the database was locked; nothing of the attempt was written) and shapes cut at the ` +
        `${sizes.shapeBudgetSeconds} s budget (events/s is then over the events appended):`,
      '',
      '| engine | shape | Aevon retries | Aevon cut | Emmett retries | Emmett cut |',
      '| --- | --- | ---: | --- | ---: | --- |',
      ...special.map(
        (r) =>
          `| ${r.engine} | ${r.shape} | ${r.retries ?? 0} | ${r.complete === false ? 'yes' : 'no'} | ` +
          `${r.baselineRetries ?? 0} | ${r.baselineComplete === false ? 'yes' : 'no'} |`,
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      engines: { type: 'string', default: 'sqlite,postgres' },
      out: { type: 'string', default: join(process.cwd(), 'bench', 'results') },
      concurrency: { type: 'string' },
      worker: { type: 'string' },
      engine: { type: 'string' },
      target: { type: 'string' },
    },
  });
  const base = values.quick ? quick : full;
  const concurrency =
    values.concurrency === undefined ? base.concurrency : Number(values.concurrency);
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > base.streams) {
    throw new Error(`--concurrency must be an integer from 1 to ${base.streams}`);
  }
  const sizes: Sizes = { ...base, concurrency };
  const passOn = [...(values.quick ? ['--quick'] : []), '--concurrency', String(concurrency)];

  if (values.worker !== undefined) {
    const library = values.worker as Library;
    const engine = values.engine as Engine;
    if (!['aevon', 'emmett'].includes(library) || !['sqlite', 'postgres'].includes(engine)) {
      throw new Error('--worker aevon|emmett --engine sqlite|postgres --target PATH|URL');
    }
    await worker(library, engine, values.target ?? '', sizes);
    return;
  }

  const engines = values.engines.split(',');
  const rows: PeerMeasurement[] = [];
  const config: Record<string, unknown> = {
    quick: values.quick,
    streams: sizes.streams,
    eventsPerStream: Object.fromEntries(sizes.eventsPerStream),
    concurrentAppenders: sizes.concurrency,
    shapeBudgetSeconds: sizes.shapeBudgetSeconds,
    expectedVersions: 'every append checks its stream version',
    process: 'each library in its own child process, Aevon first, on the same disk / server',
  };
  if (engines.includes('sqlite')) {
    const dir = mkdtempSync(join(tmpdir(), 'aevon-peer-'));
    try {
      const aevon = await spawnWorker('aevon', 'sqlite', join(dir, 'aevon.db'), passOn);
      const emmett = await spawnWorker('emmett', 'sqlite', join(dir, 'emmett.db'), passOn);
      config['sqlite'] = { aevon: aevon.facts, emmett: emmett.facts };
      rows.push(
        ...compare(
          'sqlite',
          sizes,
          aevon,
          emmett,
          `Emmett (emmett-sqlite ${packageVersion('@event-driven-io/emmett-sqlite')})`,
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (engines.includes('postgres')) {
    const serverUrl = postgresServerUrl();
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    const stamp = Date.now();
    const created: string[] = [];
    const databaseUrl = async (library: Library): Promise<string> => {
      const name = `aevon_peer_${stamp}_${library}`;
      await admin.query(`CREATE DATABASE ${name}`);
      created.push(name);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      return url.toString();
    };
    try {
      const syncCommit =
        (await admin.query<{ s: string }>(`SELECT current_setting('synchronous_commit') AS s`))
          .rows[0]?.s ?? 'unknown';
      const serverVersion =
        (await admin.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]
          ?.v ?? 'unknown';
      const aevon = await spawnWorker('aevon', 'postgres', await databaseUrl('aevon'), passOn);
      const emmett = await spawnWorker('emmett', 'postgres', await databaseUrl('emmett'), passOn);
      config['postgres'] = {
        server: new URL(serverUrl).host,
        serverVersion,
        synchronous_commit: syncCommit,
        databases: 'a fresh database per library, dropped afterwards',
        aevon: aevon.facts,
        emmett: emmett.facts,
      };
      rows.push(
        ...compare(
          'postgres',
          sizes,
          aevon,
          emmett,
          `Emmett (emmett-postgresql ${packageVersion('@event-driven-io/emmett-postgresql')})`,
        ),
      );
    } finally {
      for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  }
  const files = writeResults(
    values.out,
    values.quick ? 'peer-quick' : 'peer',
    environment(config),
    rows,
    new Date().toISOString(),
  );
  appendFileSync(files.markdown, notes(rows, sizes));
  console.log(`results: ${files.json} ${files.markdown}`);
}

await runBench('bench:peer', main);
