// Append throughput of the event log on each engine, each figure next to a raw baseline measured in the same run:
// better-sqlite3 / pg inserting the same rows, the same number per transaction, with the same durability setting.
// PostgreSQL has a second raw baseline: COPY FROM STDIN of the same rows, the same number per transaction.
//
//   npm run bench:append                  # full sizes, all engines (PostgreSQL from AEVON_BENCH_POSTGRES_URL,
//                                         # AEVON_TEST_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/postgres)
//   npm run bench:append -- --quick       # tiny sizes (the smoke test uses this)
//   npm run bench:append -- --engines sqlite --out /tmp/results
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { EventStore, PendingEvent, Storage } from '@aevon/core';
import { createEventStore, createInMemoryStorage, randomUuid } from '@aevon/core';
import { createPostgresStorage } from '@aevon/postgres';
import { createSqliteStorage } from '@aevon/sqlite';
import type { Measurement } from './report.js';
import { environment, measure, time, writeResults } from './report.js';
import { postgresServerUrl } from './engine-targets.js';
import { runBench } from './run-bench.js';

interface Sizes {
  /** Total events per batch shape. */
  readonly eventsByBatch: ReadonlyMap<number, number>;
  readonly appenders: number;
  readonly appendsPerAppender: number;
}

const full: Sizes = {
  eventsByBatch: new Map([
    [1, 2_000],
    [10, 10_000],
    [100, 50_000],
    [1000, 100_000],
  ]),
  appenders: 64,
  appendsPerAppender: 50,
};
const quick: Sizes = {
  eventsByBatch: new Map([
    [1, 20],
    [10, 100],
    [100, 200],
    [1000, 1000],
  ]),
  appenders: 8,
  appendsPerAppender: 3,
};

const systemClock = { nowMs: () => Date.now() };
const systemRandom = { nextUint32: () => Math.floor(Math.random() * 2 ** 32) };

/** One ~120-byte event, as a metering client would send it. */
function makeEvent(i: number): PendingEvent {
  return {
    id: randomUuid(systemRandom),
    type: 'api.request',
    data: { route: '/v1/things', status: 200, durationMs: i % 500, tokens: 1 + (i % 7) },
    occurredAt: '2026-02-11T10:30:00Z',
  };
}

async function batches(store: EventStore, batchSize: number, total: number): Promise<number> {
  let written = 0;
  for (let b = 0; written < total; b += 1) {
    const events = Array.from({ length: batchSize }, (_, i) => makeEvent(written + i));
    await store.append(`principals/user_${b % 100}`, events);
    written += batchSize;
  }
  return written;
}

async function concurrent(store: EventStore, sizes: Sizes): Promise<number> {
  await Promise.all(
    Array.from({ length: sizes.appenders }, async (_, a) => {
      for (let i = 0; i < sizes.appendsPerAppender; i += 1) {
        await store.append(`principals/user_${a}`, [makeEvent(i)]);
      }
    }),
  );
  return sizes.appenders * sizes.appendsPerAppender;
}

/** A raw baseline: inserts `total` rows, `perTransaction` per transaction, and returns events/s. */
type RawBaseline = (perTransaction: number, total: number) => Promise<number>;

/**
 * A result row. Batch shapes on PostgreSQL also carry a second raw baseline, COPY of the same rows: `baseline` and
 * `ratio` stay the multi-row INSERT (as before), `copyBaseline` and `copyRatio` are the COPY figures.
 */
type AppendMeasurement = Measurement & {
  readonly copyBaseline?: string;
  readonly copyBaselineEventsPerSecond?: number;
  /** eventsPerSecond / copyBaselineEventsPerSecond. */
  readonly copyRatio?: number;
};

async function runEngine(
  name: string,
  open: () => Promise<Storage>,
  raw: { run: RawBaseline; name: string; copy?: { run: RawBaseline; name: string } } | null,
  sizes: Sizes,
): Promise<AppendMeasurement[]> {
  const rows: AppendMeasurement[] = [];
  for (const [batchSize, total] of sizes.eventsByBatch) {
    const store = createEventStore({
      storage: await open(),
      clock: systemClock,
      random: systemRandom,
    });
    let written = 0;
    const seconds = await time(async () => {
      written = await batches(store, batchSize, total);
    });
    await store.close();
    const baseline =
      raw === null
        ? undefined
        : {
            name: `${raw.name}, ${batchSize}/tx`,
            eventsPerSecond: await raw.run(batchSize, total),
          };
    const row = measure(name, `batch of ${batchSize}`, written, seconds, baseline);
    const copy = raw?.copy;
    if (copy === undefined) {
      rows.push(row);
    } else {
      const copyEventsPerSecond = await copy.run(batchSize, total);
      rows.push({
        ...row,
        copyBaseline: `${copy.name}, ${batchSize}/tx`,
        copyBaselineEventsPerSecond: Math.round(copyEventsPerSecond),
        copyRatio: Math.round((written / seconds / copyEventsPerSecond) * 100) / 100,
      });
    }
    console.log(JSON.stringify(rows[rows.length - 1]));
  }
  const sequentialTotal = sizes.appenders * sizes.appendsPerAppender;
  const sequential = createEventStore({
    storage: await open(),
    clock: systemClock,
    random: systemRandom,
  });
  const sequentialSeconds = await time(async () => {
    await batches(sequential, 1, sequentialTotal);
  });
  await sequential.close();
  const store = createEventStore({
    storage: await open(),
    clock: systemClock,
    random: systemRandom,
  });
  let written = 0;
  const seconds = await time(async () => {
    written = await concurrent(store, sizes);
  });
  await store.close();
  rows.push(
    measure(name, `${sizes.appenders} concurrent single-event appenders`, written, seconds, {
      name: `${sizes.appenders} x sequential single-event commits`,
      eventsPerSecond: sequentialTotal / sequentialSeconds,
    }),
  );
  console.log(JSON.stringify(rows[rows.length - 1]));
  return rows;
}

let fileCounter = 0;

function sqliteTarget(dir: string) {
  const open = (): Promise<Storage> => {
    fileCounter += 1;
    return Promise.resolve(
      createSqliteStorage({ path: join(dir, `aevon-${fileCounter}.db`), synchronous: 'full' }),
    );
  };
  const raw: RawBaseline = (perTransaction, total) => {
    fileCounter += 1;
    const db = new BetterSqlite3(join(dir, `raw-${fileCounter}.db`));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`CREATE TABLE raw_events (position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL,
      revision INTEGER NOT NULL, type TEXT NOT NULL, schema_version INTEGER NOT NULL, data TEXT NOT NULL,
      metadata TEXT NOT NULL, occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL, correlation_id TEXT,
      causation_id TEXT, UNIQUE (stream, revision))`);
    const insert = db.prepare(
      `INSERT INTO raw_events (id, stream, revision, type, schema_version, data, metadata, occurred_at, recorded_at)
       VALUES (?, ?, ?, ?, 0, ?, '{}', ?, ?)`,
    );
    const revisions = new Map<string, number>();
    const seconds = timeSync(() => {
      for (let written = 0, b = 0; written < total; b += 1) {
        const stream = `principals/user_${b % 100}`;
        db.transaction(() => {
          for (let i = 0; i < perTransaction; i += 1) {
            const event = makeEvent(written + i);
            const revision = revisions.get(stream) ?? 0;
            revisions.set(stream, revision + 1);
            const now = new Date().toISOString();
            insert.run(
              event.id,
              stream,
              revision,
              event.type,
              JSON.stringify(event.data),
              event.occurredAt,
              now,
            );
          }
        })();
        written += perTransaction;
      }
    });
    db.close();
    return Promise.resolve(total / seconds);
  };
  return { open, raw };
}

function timeSync(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function postgresTarget(serverUrl: string) {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const name = `aevon_bench_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const dbUrl = url.toString();
  const setup = new pg.Pool({ connectionString: dbUrl, max: 1 });
  setup.on('error', () => undefined);
  const syncCommit =
    (await setup.query<{ s: string }>(`SELECT current_setting('synchronous_commit') AS s`)).rows[0]
      ?.s ?? 'unknown';
  let n = 0;
  const open = async (): Promise<Storage> => {
    n += 1;
    await setup.query(`DROP SCHEMA IF EXISTS bench_${n - 1} CASCADE`);
    return createPostgresStorage({ connectionString: dbUrl, schema: `bench_${n}` });
  };
  const createRawTable = async (): Promise<void> => {
    await setup.query(`DROP TABLE IF EXISTS raw_events`);
    await setup.query(`CREATE TABLE raw_events (tx_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
      seq bigserial, id text NOT NULL UNIQUE, stream text NOT NULL, revision bigint NOT NULL, type text NOT NULL,
      schema_version int NOT NULL, data jsonb NOT NULL, metadata jsonb NOT NULL, occurred_at text NOT NULL,
      recorded_at text NOT NULL, correlation_id text, causation_id text, PRIMARY KEY (tx_id, seq),
      UNIQUE (stream, revision))`);
  };
  const raw: RawBaseline = async (perTransaction, total) => {
    await createRawTable();
    const client = await setup.connect();
    const revisions = new Map<string, number>();
    try {
      const seconds = await time(async () => {
        for (let written = 0, b = 0; written < total; b += 1) {
          const stream = `principals/user_${b % 100}`;
          const values: unknown[] = [];
          const tuples: string[] = [];
          for (let i = 0; i < perTransaction; i += 1) {
            const event = makeEvent(written + i);
            const revision = revisions.get(stream) ?? 0;
            revisions.set(stream, revision + 1);
            const p = values.length;
            tuples.push(
              `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, 0, $${p + 5}, '{}', $${p + 6}, $${p + 7})`,
            );
            values.push(
              event.id,
              stream,
              revision,
              event.type,
              JSON.stringify(event.data),
              event.occurredAt,
            );
            values.push(new Date().toISOString());
          }
          await client.query('BEGIN');
          await client.query(
            `INSERT INTO raw_events (id, stream, revision, type, schema_version, data, metadata, occurred_at,
             recorded_at) VALUES ${tuples.join(', ')}`,
            values,
          );
          await client.query('COMMIT');
          written += perTransaction;
        }
      });
      return total / seconds;
    } finally {
      client.release();
    }
  };
  // The same rows into the same table as `raw`, but through COPY FROM STDIN (text format): PostgreSQL's fastest
  // bulk path, one COPY per transaction.
  const copy: RawBaseline = async (perTransaction, total) => {
    await createRawTable();
    const client = await setup.connect();
    const revisions = new Map<string, number>();
    try {
      const seconds = await time(async () => {
        for (let written = 0, b = 0; written < total; b += 1) {
          const stream = `principals/user_${b % 100}`;
          const lines: string[] = [];
          for (let i = 0; i < perTransaction; i += 1) {
            const event = makeEvent(written + i);
            const revision = revisions.get(stream) ?? 0;
            revisions.set(stream, revision + 1);
            lines.push(
              [
                event.id ?? '',
                stream,
                String(revision),
                event.type,
                '0',
                JSON.stringify(event.data),
                '{}',
                event.occurredAt ?? '',
                new Date().toISOString(),
              ]
                .map(copyTextField)
                .join('\t'),
            );
          }
          await client.query('BEGIN');
          await pipeline(
            Readable.from([`${lines.join('\n')}\n`]),
            client.query(
              copyFrom(`COPY raw_events (id, stream, revision, type, schema_version, data, metadata, occurred_at,
                recorded_at) FROM STDIN`),
            ),
          );
          await client.query('COMMIT');
          written += perTransaction;
        }
      });
      return total / seconds;
    } finally {
      client.release();
    }
  };
  const dispose = async () => {
    await setup.end();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  };
  return { open, raw, copy, dispose, syncCommit };
}

/** Escapes one field for COPY's text format: backslash, tab, newline and carriage return. */
function copyTextField(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      engines: { type: 'string', default: 'memory,sqlite,postgres' },
      out: { type: 'string', default: join(process.cwd(), 'bench', 'results') },
    },
  });
  const sizes = values.quick ? quick : full;
  const engines = values.engines.split(',');
  const rows: AppendMeasurement[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'aevon-bench-'));
  const config: Record<string, unknown> = {
    quick: values.quick,
    sizes: Object.fromEntries(sizes.eventsByBatch),
  };
  try {
    if (engines.includes('memory')) {
      rows.push(
        ...(await runEngine('memory', () => Promise.resolve(createInMemoryStorage()), null, sizes)),
      );
    }
    if (engines.includes('sqlite')) {
      const sqlite = sqliteTarget(dir);
      config['sqlite'] = { journal_mode: 'WAL', synchronous: 'FULL' };
      rows.push(
        ...(await runEngine(
          'sqlite',
          sqlite.open,
          { run: sqlite.raw, name: 'raw better-sqlite3' },
          sizes,
        )),
      );
    }
    if (engines.includes('postgres')) {
      const serverUrl = postgresServerUrl();
      const target = await postgresTarget(serverUrl);
      config['postgres'] = {
        synchronous_commit: target.syncCommit,
        server: new URL(serverUrl).host,
      };
      try {
        rows.push(
          ...(await runEngine(
            'postgres',
            target.open,
            {
              run: target.raw,
              name: 'raw pg multi-row INSERT',
              copy: { run: target.copy, name: 'raw pg COPY FROM STDIN' },
            },
            sizes,
          )),
        );
      } finally {
        await target.dispose();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const files = writeResults(
    values.out,
    values.quick ? 'append-quick' : 'append',
    environment(config),
    rows,
    new Date().toISOString(),
  );
  const copyRows = rows.filter((r) => r.copyBaseline !== undefined);
  if (copyRows.length > 0) appendFileSync(files.markdown, `\n${copyTable(copyRows)}\n`);
  console.log(`results: ${files.json} ${files.markdown}`);
}

/** The second baseline of the PostgreSQL batch shapes: the same rows through COPY. */
function copyTable(rows: readonly AppendMeasurement[]): string {
  const lines = [
    '| engine | shape | events/s | INSERT baseline events/s | ratio to INSERT | COPY baseline | COPY events/s | ratio to COPY |',
    '| --- | --- | ---: | ---: | ---: | --- | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.engine} | ${r.shape} | ${r.eventsPerSecond} | ${r.baselineEventsPerSecond ?? ''} | ${r.ratio ?? ''} | ` +
        `${r.copyBaseline ?? ''} | ${r.copyBaselineEventsPerSecond ?? ''} | ${r.copyRatio ?? ''} |`,
    );
  }
  return lines.join('\n');
}

await runBench('bench:append', main);
