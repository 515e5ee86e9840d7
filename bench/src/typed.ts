// Typed writes and SQL over the aggregates (issue 6), on SQLite and PostgreSQL, each figure next to a baseline
// measured in the same run:
// - `AggregateStore.appendTyped` for the Eventd seed (shared/seeds/eventd.md): `account_created` (an account and its
//   billing contact, both keys generated) then `account_name_updated` (a referenced account renamed), one after
//   another and from 16 concurrent writers, against the plain library append (`EventStore.append`) of the very
//   events the typed writes stored (same ids, stream ids and data; a fresh database of the same engine and
//   durability), in the same order and concurrency, right after them;
// - `POST /v1/sql` over HTTP for a primary-key lookup and a join, with 10,000 accounts stored, against the same
//   query through the library (`DefinitionsEngine.query`, the call the route makes).
//
//   npm run bench:typed                   # full sizes, both engines (PostgreSQL from AEVON_BENCH_POSTGRES_URL,
//                                         # AEVON_TEST_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/postgres)
//   npm run bench:typed -- --quick        # tiny sizes (the smoke test uses this)
//   npm run bench:typed -- --engines sqlite --out /tmp/results
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { EventStore, NamedSubscriptionStore, RecordedEvent, Storage } from '@aevon/core';
import { createEventStore, createSeededRandom, formatTimestamp } from '@aevon/core';
import type { AggregateStore, DefinitionsState, TypedWriteResult, Value } from '@aevon/ddl';
import { toTypedWrite, validateEventInput } from '@aevon/ddl';
import type { DefinitionsEngine, MeteringEngine } from '@aevon/engine';
import { createDefinitionsEngine, createMeteringEngine } from '@aevon/engine';
import {
  createPostgresAggregateStore,
  createPostgresMeteringStore,
  createPostgresNamedSubscriptionStore,
  createPostgresStorage,
} from '@aevon/postgres';
import { createServer } from '@aevon/server';
import {
  createSqliteAggregateStore,
  createSqliteMeteringStore,
  createSqliteNamedSubscriptionStore,
  createSqliteStorage,
} from '@aevon/sqlite';
import type { FastifyInstance } from 'fastify';
import type { LatencyMeasurement } from './report.js';
import { environment, latency, percentiles, round, writeReport } from './report.js';
import { postgresServerUrl } from './engine-targets.js';
import { runBench } from './run-bench.js';

interface Sizes {
  /** Creates, then as many name updates, one after another. */
  readonly sequential: number;
  /** Creates, then as many name updates, spread over `writers` concurrent writers. */
  readonly concurrent: number;
  readonly writers: number;
  /** Accounts stored before the SQL queries (topped up with creates that are not timed). */
  readonly accounts: number;
  /** Requests of each SQL shape, through the library and over HTTP. */
  readonly queries: number;
}

const full: Sizes = {
  sequential: 1_000,
  concurrent: 2_000,
  writers: 16,
  accounts: 10_000,
  queries: 1_000,
};
const quick: Sizes = { sequential: 10, concurrent: 32, writers: 4, accounts: 100, queries: 20 };

/**
 * The seed's DDL with its one typo fixed (`billing_last_name updates billing_contact(last_name)`; as written it
 * updates `first_name` twice and leaves the NOT NULL `last_name` empty, so every create would be refused).
 */
export const seedDdl = `CREATE AGGREGATE account (
    id          SERIAL PRIMARY KEY,
    name        varchar(40) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT NOW(),
);
CREATE AGGREGATE billing_contact (
    id          SERIAL PRIMARY KEY,
    first_name  varchar(40) NOT NULL,
    last_name   varchar(40) NOT NULL,
    account_id  references account(id)
);
CREATE EVENT_TYPE account_created (
    id                  creates account(id),
    name                updates account(name),
    created_at          updates account(created_at),
    billing_id          creates billing_contact(id)
    billing_first_name  updates billing_contact(first_name)
    billing_last_name   updates billing_contact(last_name)
    send_notification   boolean NOT NULL,
);
CREATE EVENT_TYPE account_name_updated (
    id                  references account(id),
    name                updates account(name),
);
CREATE STREAM account_events (
    path         "/accounts/{id}"
    event_types  (account_created, account_name_updated)
);
`;

/**
 * The SQL shapes. The seed's `account_created` fills no `billing_contact.account_id`, so the join pairs each account
 * with the billing contact its create made: both keys are drawn from their serials by the same events, so they are
 * equal. The filter on `last_name` (100 distinct values) selects about 1% of the 10,000 pairs, with no index on it:
 * a scan of one table and a key lookup into the other.
 */
const sqlShapes = [
  {
    shape: 'primary-key lookup',
    sql: 'SELECT id, name, created_at FROM account WHERE id = $1',
    params: (i: number, accounts: number): Value[] => [1 + ((i * 7919) % accounts)],
  },
  {
    shape: 'join over the accounts (last_name filter, ~1% of rows)',
    sql:
      'SELECT a.id, a.name, b.first_name, b.last_name FROM account a JOIN billing_contact b ON b.id = a.id ' +
      'WHERE b.last_name = $1 ORDER BY a.id',
    params: (i: number): Value[] => [`Test ${i % 100}`],
  },
] as const;

/** Most rows a query answer may hold: the join's ~1% of 10,000 fits. */
const sqlRowsMax = 1_000;

/** One database of an engine: the typed stack (with an HTTP server) and a fresh event store for the plain append. */
interface Databases {
  readonly aggregates: AggregateStore;
  readonly definitions: DefinitionsEngine;
  readonly app: FastifyInstance;
  readonly url: string;
  /** A fresh log of the same engine and durability, for the plain appends. */
  readonly plain: EventStore;
  readonly close: () => Promise<void>;
}

interface EngineTarget {
  readonly name: 'sqlite' | 'postgres';
  readonly durability: Record<string, string>;
  /** A connection pool large enough for the writers (PostgreSQL). */
  readonly open: (writers: number) => Promise<Databases>;
  readonly dispose: () => Promise<void>;
}

const systemClock = { nowMs: () => Date.now() };

/** The typed stack on one database's stores, wired as `aevon serve` wires it, and listening on a free port. */
async function serve(
  parts: {
    readonly storage: Storage;
    readonly aggregates: AggregateStore;
    readonly metering: Parameters<typeof createMeteringEngine>[0]['metering'];
    readonly namedSubscriptions: NamedSubscriptionStore;
  },
  plainStorage: Storage,
  closeAggregates: () => Promise<void>,
): Promise<Databases> {
  const random = createSeededRandom(Math.floor(Math.random() * 2 ** 32));
  const store = createEventStore({ storage: parts.storage, clock: systemClock, random });
  const definitions = await createDefinitionsEngine({
    store: parts.aggregates,
    log: store,
    clock: systemClock,
    random,
    sqlRowsMax,
  });
  const engine: MeteringEngine = createMeteringEngine({
    store,
    metering: parts.metering,
    namedSubscriptions: parts.namedSubscriptions,
    clock: systemClock,
    rules: [],
    schemas: new Map(),
    cronIntervalMs: 60_000,
    subscriptionWakeSources: [definitions.commits],
  });
  const app = createServer({ engine, definitions });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const plain = createEventStore({ storage: plainStorage, clock: systemClock, random });
  return {
    aggregates: parts.aggregates,
    definitions,
    app,
    url,
    plain,
    close: async () => {
      await app.close();
      await engine.close();
      await closeAggregates();
      await plain.close();
    },
  };
}

function sqliteTarget(): EngineTarget {
  const dir = mkdtempSync(join(tmpdir(), 'aevon-bench-typed-'));
  return {
    name: 'sqlite',
    durability: { journal_mode: 'WAL', synchronous: 'FULL' },
    open: async () => {
      const storage = createSqliteStorage({ path: join(dir, 'typed.db'), synchronous: 'full' });
      const aggregates = createSqliteAggregateStore(storage);
      return serve(
        {
          storage,
          aggregates,
          metering: createSqliteMeteringStore(storage),
          namedSubscriptions: createSqliteNamedSubscriptionStore(storage),
        },
        createSqliteStorage({ path: join(dir, 'plain.db'), synchronous: 'full' }),
        () => aggregates.close(),
      );
    },
    dispose: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

async function postgresTarget(serverUrl: string): Promise<EngineTarget> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const database = `aevon_bench_typed_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  const connectionString = url.toString();
  const syncCommit =
    (await admin.query<{ s: string }>(`SELECT current_setting('synchronous_commit') AS s`)).rows[0]
      ?.s ?? 'unknown';
  const typedSchema = 'typed';
  return {
    name: 'postgres',
    durability: { synchronous_commit: syncCommit, server: url.host },
    open: async (writers) => {
      const storage = await createPostgresStorage({
        connectionString,
        schema: typedSchema,
        migrate: true,
        poolMax: writers + 2,
      });
      const plainStorage = await createPostgresStorage({
        connectionString,
        schema: 'plain',
        migrate: true,
        poolMax: writers + 2,
      });
      return serve(
        {
          storage,
          aggregates: await createPostgresAggregateStore(storage),
          metering: await createPostgresMeteringStore(storage),
          namedSubscriptions: await createPostgresNamedSubscriptionStore(storage),
        },
        plainStorage,
        () => Promise.resolve(),
      );
    },
    dispose: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      // The SQL reader role is cluster-wide: named from the database and schema as @aevon/postgres names it.
      const digest = createHash('sha256').update(`${database}\0${typedSchema}`).digest('hex');
      await admin.query(`DROP ROLE IF EXISTS aevon_sql_reader_${digest.slice(0, 24)}`);
      await admin.end();
    },
  };
}

/** Validates and appends one typed event, as the definitions engine's `write` does. */
async function writeTyped(
  aggregates: AggregateStore,
  state: DefinitionsState,
  eventType: 'account_created' | 'account_name_updated',
  body: Record<string, unknown>,
): Promise<TypedWriteResult> {
  const now = formatTimestamp(Date.now());
  const validated = validateEventInput(state, {
    stream: 'account_events',
    eventType,
    body,
    pathValues: [],
    now,
    randomUuid: randomUUID,
  });
  return aggregates.appendTyped(
    toTypedWrite(validated, {
      definitionsVersion: state.version,
      expected: 'any',
      id: randomUUID(),
      at: now,
    }),
  );
}

function createBody(i: number): Record<string, unknown> {
  return {
    name: `account ${i}`,
    billing_first_name: 'Bob',
    billing_last_name: `Test ${i % 100}`,
    send_notification: i % 2 === 0,
  };
}

/** One timed operation: its result and how long it took in milliseconds. */
async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const start = process.hrtime.bigint();
  const result = await fn();
  return { result, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

/**
 * Runs `count` operations from `writers` concurrent writers (writer w does operations w, w + writers, ...), and
 * returns the results in operation order, each operation's latency, and the wall time in seconds.
 */
async function run<T>(
  count: number,
  writers: number,
  operation: (i: number) => Promise<T>,
): Promise<{ results: T[]; latenciesMs: number[]; seconds: number }> {
  const results: T[] = new Array<T>(count);
  const latenciesMs: number[] = [];
  const { ms } = await timed(async () => {
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = w; i < count; i += writers) {
          const step = await timed(() => operation(i));
          results[i] = step.result;
          latenciesMs.push(step.ms);
        }
      }),
    );
  });
  return { results, latenciesMs, seconds: ms / 1000 };
}

/** A typed-write shape next to the plain append of the same events. */
interface WriteRow {
  readonly engine: string;
  readonly shape: string;
  readonly writers: number;
  readonly events: number;
  readonly eventsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly plainEventsPerSecond: number;
  readonly plainP50Ms: number;
  readonly plainP99Ms: number;
  /** eventsPerSecond / plainEventsPerSecond. */
  readonly ratio: number;
}

/** Appends each event the typed writes stored, as a plain library append, in the same order and concurrency. */
function plainAppend(plain: EventStore, events: readonly RecordedEvent[], writers: number) {
  return run(events.length, writers, async (i) => {
    const event = events[i];
    if (event === undefined) throw new Error(`no event ${i}`);
    await plain.append(event.stream, [
      { id: event.id, type: event.type, data: event.data, occurredAt: event.occurredAt },
    ]);
  });
}

function writeRow(
  engine: string,
  shape: string,
  writers: number,
  typed: { latenciesMs: number[]; seconds: number },
  plain: { latenciesMs: number[]; seconds: number },
): WriteRow {
  const events = typed.latenciesMs.length;
  const own = percentiles(typed.latenciesMs);
  const base = percentiles(plain.latenciesMs);
  const eventsPerSecond = events / typed.seconds;
  const plainEventsPerSecond = plain.latenciesMs.length / plain.seconds;
  const row: WriteRow = {
    engine,
    shape,
    writers,
    events,
    eventsPerSecond: Math.round(eventsPerSecond),
    p50Ms: round(own.p50, 3),
    p99Ms: round(own.p99, 3),
    plainEventsPerSecond: Math.round(plainEventsPerSecond),
    plainP50Ms: round(base.p50, 3),
    plainP99Ms: round(base.p99, 3),
    ratio: round(eventsPerSecond / plainEventsPerSecond, 2),
  };
  console.log(JSON.stringify(row));
  return row;
}

/** Posts one query to `POST /v1/sql` and checks that it answered 200 with rows. */
async function postSql(url: string, sql: string, params: readonly Value[]): Promise<number> {
  const response = await fetch(`${url}/v1/sql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sql, params }),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST /v1/sql answered ${response.status}: ${text}`);
  return (JSON.parse(text) as { rows: unknown[] }).rows.length;
}

async function runEngine(
  target: EngineTarget,
  sizes: Sizes,
): Promise<{ writes: WriteRow[]; sql: LatencyMeasurement[] }> {
  const db = await target.open(sizes.writers);
  try {
    await db.definitions.applyDdl(seedDdl);
    const state = db.definitions.current();
    const writes: WriteRow[] = [];
    let nextAccount = 0;
    const shapes = [
      { label: 'sequential', writers: 1, count: sizes.sequential },
      {
        label: `${sizes.writers} concurrent writers`,
        writers: sizes.writers,
        count: sizes.concurrent,
      },
    ];
    for (const { label, writers, count } of shapes) {
      const first = nextAccount;
      nextAccount += count;
      const creates = await run(count, writers, (i) =>
        writeTyped(db.aggregates, state, 'account_created', createBody(first + i)),
      );
      const createdEvents = creates.results.map((r) => r.event);
      const plainCreates = await plainAppend(db.plain, createdEvents, writers);
      writes.push(
        writeRow(target.name, `account_created, ${label}`, writers, creates, plainCreates),
      );
      // Each update renames an account this shape created, from the writer that created it.
      const ids = creates.results.map((r) => r.created['id'] ?? null);
      const updates = await run(count, writers, (i) =>
        writeTyped(db.aggregates, state, 'account_name_updated', {
          id: ids[i] ?? null,
          name: `account ${first + i} renamed`,
        }),
      );
      const plainUpdates = await plainAppend(
        db.plain,
        updates.results.map((r) => r.event),
        writers,
      );
      writes.push(
        writeRow(target.name, `account_name_updated, ${label}`, writers, updates, plainUpdates),
      );
    }
    // Top up to the accounts the queries run over (not timed).
    const topUp = Math.max(0, sizes.accounts - nextAccount);
    await run(topUp, sizes.writers, (i) =>
      writeTyped(db.aggregates, state, 'account_created', createBody(nextAccount + i)),
    );
    const accounts = nextAccount + topUp;
    const stored = await db.definitions.query('SELECT count(*) AS n FROM account', []);
    if (stored.rows[0]?.['n'] !== accounts) {
      throw new Error(
        `the account table holds ${JSON.stringify(stored.rows[0])}, not ${accounts} rows`,
      );
    }
    const sql: LatencyMeasurement[] = [];
    for (const { shape, sql: text, params } of sqlShapes) {
      // Warm up both paths (SQLite's query process, the statement caches, the HTTP connection).
      for (let i = 0; i < 10; i += 1) {
        await db.definitions.query(text, params(i, accounts));
        await postSql(db.url, text, params(i, accounts));
      }
      const library: number[] = [];
      const http: number[] = [];
      let rows = 0;
      for (let i = 0; i < sizes.queries; i += 1) {
        const direct = await timed(() => db.definitions.query(text, params(i, accounts)));
        library.push(direct.ms);
        const posted = await timed(() => postSql(db.url, text, params(i, accounts)));
        http.push(posted.ms);
        if (posted.result !== direct.result.rows.length) {
          throw new Error(
            `${shape}: HTTP answered ${posted.result} rows, the library ${direct.result.rows.length}`,
          );
        }
        rows += posted.result;
      }
      const row = latency(target.name, `POST /v1/sql, ${shape}, ${accounts} accounts`, http, {
        baseline: {
          name: 'the same query through the library (DefinitionsEngine.query)',
          samplesMs: library,
        },
      });
      console.log(JSON.stringify({ ...row, rowsPerAnswer: round(rows / sizes.queries, 1) }));
      sql.push(row);
    }
    return { writes, sql };
  } finally {
    await db.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      engines: { type: 'string', default: 'sqlite,postgres' },
      out: { type: 'string', default: join(process.cwd(), 'bench', 'results') },
    },
  });
  const sizes = values.quick ? quick : full;
  const engines = values.engines.split(',');
  const config: Record<string, unknown> = { quick: values.quick, sizes };
  const writes: WriteRow[] = [];
  const sql: LatencyMeasurement[] = [];
  const targets: (() => Promise<EngineTarget>)[] = [];
  if (engines.includes('sqlite')) targets.push(() => Promise.resolve(sqliteTarget()));
  if (engines.includes('postgres')) targets.push(() => postgresTarget(postgresServerUrl()));
  for (const make of targets) {
    const target = await make();
    config[target.name] = target.durability;
    try {
      const results = await runEngine(target, sizes);
      writes.push(...results.writes);
      sql.push(...results.sql);
    } finally {
      await target.dispose();
    }
  }
  const files = writeReport(
    values.out,
    values.quick ? 'typed-quick' : 'typed',
    environment(config),
    new Date().toISOString(),
    [
      {
        key: 'writes',
        title: 'Typed writes (AggregateStore.appendTyped) vs plain append of the same events',
        rows: writes,
      },
      {
        key: 'sql',
        title: 'POST /v1/sql latency vs the same query through the library',
        rows: sql,
      },
    ],
  );
  console.log(`results: ${files.json} ${files.markdown}`);
}

await runBench('bench:typed', main);
