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
import type { AppendBatch, EventStore, PendingEvent, Storage } from '@aevon/core';
import { createEventStore, createInMemoryStorage, randomUuid } from '@aevon/core';
import { createPostgresStorage } from '@aevon/postgres';
import { createSqliteStorage } from '@aevon/sqlite';
import type { Measurement } from './report.js';
import { environment, measure, round, time, writeResults } from './report.js';
import { postgresServerUrl } from './engine-targets.js';
import { runBench } from './run-bench.js';

interface Sizes {
  /** Total events per batch shape. */
  readonly eventsByBatch: ReadonlyMap<number, number>;
  readonly appenders: number;
  readonly appendsPerAppender: number;
  /** Single-event commits of the sequential baseline of the concurrent shape, per round. */
  readonly sequentialCommits: number;
  /** Rounds of each batch shape and its raw baselines: the report gives their medians. */
  readonly batchRounds: number;
  /** Rounds of the concurrent shape and its baseline: the report gives their medians. */
  readonly concurrentRounds: number;
}

const full: Sizes = {
  eventsByBatch: new Map([
    [1, 2_000],
    [10, 10_000],
    [100, 50_000],
    [1000, 100_000],
  ]),
  // 64 x 200 = 12,800 events a round (about half a second on SQLite): one round of 64 x 50 lasted 0.1-0.2 s, short
  // enough for a scheduler hiccup to move the ratio from 6x to 10x.
  appenders: 64,
  appendsPerAppender: 200,
  sequentialCommits: 2_000,
  batchRounds: 3,
  concurrentRounds: 5,
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
  sequentialCommits: 20,
  batchRounds: 2,
  concurrentRounds: 2,
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

/**
 * A raw baseline: inserts `total` rows, `perTransaction` per transaction, and returns events/s. Each transaction's
 * rows go to one stream (`principals/user_<transaction % 100>`), or with `streamPerRow` row i to
 * `principals/user_<i>`, as the concurrent shape's appenders write them.
 */
type RawBaseline = (
  perTransaction: number,
  total: number,
  streamPerRow?: boolean,
) => Promise<number>;

/**
 * A result row. Batch shapes on PostgreSQL also carry a second raw baseline, COPY of the same rows: `baseline` and
 * `ratio` stay the multi-row INSERT (as before), `copyBaseline` and `copyRatio` are the COPY figures.
 */
type AppendMeasurement = Measurement & {
  /**
   * Rounds measured and each round's figures (events/s, baseline events/s, their ratio); `ratio` is then the median
   * of the rounds' ratios, `eventsPerSecond` and `baselineEventsPerSecond` the medians of each. The concurrent shape
   * also gives the events each commit carried.
   */
  readonly rounds?: number;
  readonly roundEventsPerSecond?: readonly number[];
  readonly roundBaselineEventsPerSecond?: readonly number[];
  readonly roundRatios?: readonly number[];
  readonly commits?: number;
  readonly eventsPerCommitMedian?: number;
  readonly eventsPerCommitMax?: number;
  /**
   * The concurrent shape: the raw driver's events/s writing one transaction per `appenders` rows over one per row,
   * the same round (median, and each round's): how much coalescing alone can gain on this disk.
   */
  readonly rawGroupedSpeedup?: number;
  readonly roundRawGroupedSpeedups?: readonly number[];
  /** The median of the rounds' `ratio / rawGroupedSpeedup`: 1 means group commit gains all that coalescing can. */
  readonly ratioToRawGroupedSpeedup?: number;
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
    // Rounds of Aevon then its baselines, each on a fresh database: load from other work on the machine drifts
    // within a run, so each round's ratio pairs figures taken seconds apart, and the row gives medians.
    const rates: number[] = [];
    const rawRates: number[] = [];
    const copyRates: number[] = [];
    let written = 0;
    for (let round = 0; round < sizes.batchRounds; round += 1) {
      const store = createEventStore({
        storage: await open(),
        clock: systemClock,
        random: systemRandom,
      });
      const seconds = await time(async () => {
        written = await batches(store, batchSize, total);
      });
      await store.close();
      rates.push(written / seconds);
      if (raw !== null) rawRates.push(await raw.run(batchSize, total));
      if (raw?.copy !== undefined) copyRates.push(await raw.copy.run(batchSize, total));
    }
    const rate = median(rates);
    const baseline =
      raw === null
        ? undefined
        : { name: `${raw.name}, ${batchSize}/tx`, eventsPerSecond: median(rawRates) };
    const row: AppendMeasurement = {
      ...measure(name, `batch of ${batchSize}`, written, written / rate, baseline),
      rounds: sizes.batchRounds,
      roundEventsPerSecond: rates.map((r) => Math.round(r)),
      ...(raw === null
        ? {}
        : {
            roundBaselineEventsPerSecond: rawRates.map((r) => Math.round(r)),
            roundRatios: pairedRatios(rates, rawRates),
            ratio: round(median(pairedRatios(rates, rawRates)), 2),
          }),
    };
    const copy = raw?.copy;
    if (copy === undefined) {
      rows.push(row);
    } else {
      rows.push({
        ...row,
        copyBaseline: `${copy.name}, ${batchSize}/tx`,
        copyBaselineEventsPerSecond: Math.round(median(copyRates)),
        copyRatio: round(median(pairedRatios(rates, copyRates)), 2),
      });
    }
    console.log(JSON.stringify(rows[rows.length - 1]));
  }
  // The concurrent shape against sequential single-event commits, in alternating rounds on fresh databases; the
  // report gives the medians, and how many events each commit carried (the group commit's coalescing).
  const concurrentRates: number[] = [];
  const sequentialRates: number[] = [];
  // The physical limit of coalescing: the raw driver writing as many rows per transaction as there are appenders (one
  // per appender's stream), over the raw driver writing one per transaction, in the same round (the commit of many rows costs more than
  // one: on SQLite each random id dirties its own index page).
  const rawSpeedups: number[] = [];
  const groups: number[] = [];
  let written = 0;
  let seconds = 0;
  for (let round = 0; round < sizes.concurrentRounds; round += 1) {
    const sequential = createEventStore({
      storage: await open(),
      clock: systemClock,
      random: systemRandom,
    });
    const sequentialSeconds = await time(async () => {
      await batches(sequential, 1, sizes.sequentialCommits);
    });
    await sequential.close();
    sequentialRates.push(sizes.sequentialCommits / sequentialSeconds);
    const storage = countingCommits(await open(), groups);
    const store = createEventStore({ storage, clock: systemClock, random: systemRandom });
    const roundSeconds = await time(async () => {
      written = await concurrent(store, sizes);
    });
    await store.close();
    seconds += roundSeconds;
    concurrentRates.push(written / roundSeconds);
    if (raw !== null) {
      const single = await raw.run(1, sizes.sequentialCommits);
      const grouped = await raw.run(
        sizes.appenders,
        sizes.appenders * sizes.appendsPerAppender,
        true,
      );
      rawSpeedups.push(grouped / single);
    }
  }
  const concurrentMedian = median(concurrentRates);
  const sequentialMedian = median(sequentialRates);
  const row: AppendMeasurement = {
    ...measure(
      name,
      `${sizes.appenders} concurrent single-event appenders`,
      written,
      written / concurrentMedian,
      {
        name: `sequential single-event commits (${sizes.sequentialCommits} a round)`,
        eventsPerSecond: sequentialMedian,
      },
    ),
    rounds: sizes.concurrentRounds,
    roundEventsPerSecond: concurrentRates.map((r) => Math.round(r)),
    roundBaselineEventsPerSecond: sequentialRates.map((r) => Math.round(r)),
    roundRatios: pairedRatios(concurrentRates, sequentialRates),
    ratio: round(median(pairedRatios(concurrentRates, sequentialRates)), 2),
    commits: groups.length,
    eventsPerCommitMedian: median(groups),
    eventsPerCommitMax: Math.max(...groups),
    ...(rawSpeedups.length === 0
      ? {}
      : {
          rawGroupedSpeedup: round(median(rawSpeedups), 2),
          roundRawGroupedSpeedups: rawSpeedups.map((r) => round(r, 2)),
          ratioToRawGroupedSpeedup: round(
            median(pairedRatios(pairedRatios(concurrentRates, sequentialRates), rawSpeedups)),
            2,
          ),
        }),
  };
  rows.push(row);
  console.log(JSON.stringify(row), `(${round(seconds, 2)} s of concurrent appends in all)`);
  return rows;
}

/**
 * The storage with its `appendBatches` counting: each call is one commit, and `groups` gets how many events it
 * carried.
 */
function countingCommits(storage: Storage, groups: number[]): Storage {
  const appendBatches = storage.appendBatches.bind(storage);
  storage.appendBatches = (batchesOfCommit) => {
    groups.push(batchesOfCommit.reduce((sum, batch) => sum + eventsOf(batch), 0));
    return appendBatches(batchesOfCommit);
  };
  return storage;
}

function eventsOf(batch: AppendBatch): number {
  return batch.reduce((sum, part) => sum + part.events.length, 0);
}

/** Each round's figure over its baseline's figure of the same round, to two decimals. */
function pairedRatios(rates: readonly number[], baselines: readonly number[]): number[] {
  return rates.map((r, i) => round(r / (baselines[i] ?? Number.NaN), 2));
}

/** The median of a non-empty list (the mean of the middle two for an even length). */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? Number.NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? upper) + upper) / 2;
}

let fileCounter = 0;

function sqliteTarget(dir: string) {
  const open = (): Promise<Storage> => {
    fileCounter += 1;
    return Promise.resolve(
      createSqliteStorage({ path: join(dir, `aevon-${fileCounter}.db`), synchronous: 'full' }),
    );
  };
  const raw: RawBaseline = (perTransaction, total, streamPerRow = false) => {
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
        db.transaction(() => {
          for (let i = 0; i < perTransaction; i += 1) {
            const stream = `principals/user_${streamPerRow ? i : b % 100}`;
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
  const raw: RawBaseline = async (perTransaction, total, streamPerRow = false) => {
    await createRawTable();
    const client = await setup.connect();
    const revisions = new Map<string, number>();
    try {
      const seconds = await time(async () => {
        for (let written = 0, b = 0; written < total; b += 1) {
          const values: unknown[] = [];
          const tuples: string[] = [];
          for (let i = 0; i < perTransaction; i += 1) {
            const stream = `principals/user_${streamPerRow ? i : b % 100}`;
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
  const concurrentRows = rows.filter((r) => r.rounds !== undefined);
  if (concurrentRows.length > 0)
    appendFileSync(files.markdown, `\n${concurrentTable(concurrentRows)}\n`);
  console.log(`results: ${files.json} ${files.markdown}`);
}

/** Every shape's rounds, and for the concurrent shape how many events each group commit carried. */
function concurrentTable(rows: readonly AppendMeasurement[]): string {
  const lines = [
    '| engine | shape | rounds | events/s by round | baseline events/s by round | ratio by round | median ratio | commits | events per commit (median) | events per commit (max) | raw driver speed-up from coalescing, by round | median ratio / raw speed-up |',
    '| --- | --- | ---: | --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.engine} | ${r.shape} | ${r.rounds ?? ''} | ${(r.roundEventsPerSecond ?? []).join(', ')} | ` +
        `${(r.roundBaselineEventsPerSecond ?? []).join(', ')} | ${(r.roundRatios ?? []).join(', ')} | ` +
        `${r.ratio ?? ''} | ${r.commits ?? ''} | ${r.eventsPerCommitMedian ?? ''} | ${r.eventsPerCommitMax ?? ''} | ` +
        `${(r.roundRawGroupedSpeedups ?? []).join(', ')} | ${r.ratioToRawGroupedSpeedup ?? ''} |`,
    );
  }
  return lines.join('\n');
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
