// Goal: a database that held 1-minute pre-aggregates before the hour and day rollups existed (metering migration
// 1000 only) answers every state query exactly after the upgrade, before and after new and late events are swept:
// its rollups count only from the day after its last bucket, and older days are read from the minutes. Method: on
// SQLite and PostgreSQL, write the old layout the way the old sweep did (the fold of the log into pre_aggregates and
// the checkpoint), open the current store, and compare every answer with an in-memory metering store that folded the
// same log from scratch.
import type { MeteringStore, Storage } from '@aevon/core';
import {
  createEventStore,
  createInMemoryMeteringStore,
  createSeededRandom,
  foldSweepEvents,
  formatUtcTimestamp,
} from '@aevon/core';
import { createManualClock } from '@aevon/core/testing';
import {
  createPostgresMeteringStore,
  createPostgresStorage,
  migrate,
  postgresMeteringMigrations,
} from '@aevon/postgres';
import {
  applyMigrations,
  createSqliteMeteringStore,
  createSqliteStorage,
  sqliteMeteringMigrations,
} from '@aevon/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../../../test/support/postgres.js';
import { createTestDatabase } from '../../../test/support/postgres.js';
import type { Granularity, Rule } from './contract.js';
import { createMeteringEngine } from './metering-engine.js';

const rules: readonly Rule[] = [
  { name: 'calls', sourceEvent: 'a', operator: 'count' },
  { name: 'total', sourceEvent: 'a', operator: 'sum', field: 'v' },
  { name: 'low', sourceEvent: 'a', operator: 'min', field: 'v' },
];
const day = 86_400_000;
const day0 = Date.UTC(2026, 2, 1);
const granularities: readonly Granularity[] = ['total', '1m', '1h', '1d'];

/** The old layout's rows: what the sweep of the version before rollups wrote. */
interface OldLayout {
  readonly writeBucket: (
    rule: string,
    principal: string,
    start: number,
    count: number,
    value: string,
  ) => Promise<void>;
  readonly writeCheckpoint: (position: string) => Promise<void>;
  readonly coverage: () => Promise<number | null>;
}

interface Target {
  readonly storage: Storage;
  readonly oldLayout: OldLayout;
  readonly openMetering: () => Promise<MeteringStore>;
  readonly close: () => Promise<void>;
}

async function checkUpgrade(target: Target): Promise<void> {
  const { storage } = target;
  const clock = createManualClock(day0 + 10 * day);
  const store = createEventStore({ storage, clock, random: createSeededRandom(7) });
  let n = 0;
  const append = async (principal: string, occurredMs: number, v: number): Promise<void> => {
    n += 1;
    await store.append(`principals/${principal}`, [
      { id: `e-${n}`, type: 'a', data: { v }, occurredAt: formatUtcTimestamp(occurredMs) },
    ]);
  };
  // Three days of history for two principals, the last bucket at day 2, 13:00.
  for (let i = 0; i < 60; i += 1)
    await append(
      i % 2 === 0 ? 'p' : 'q',
      day0 + ((i * 3_600_000 * 7 + i * 61_000) % (2 * day + 13 * 3_600_000)),
      i - 20,
    );
  const history = await storage.readAll({
    start: null,
    startExclusive: false,
    end: null,
    endExclusive: false,
    limit: 1000,
    direction: 'forward',
  });
  for (const delta of foldSweepEvents(rules, history).deltas)
    await target.oldLayout.writeBucket(
      delta.rule,
      delta.principalId,
      delta.bucketStartMs,
      delta.eventCount,
      delta.value,
    );
  const head = history.at(-1);
  expect(head).toBeDefined();
  await target.oldLayout.writeCheckpoint(head?.position ?? '');

  const upgraded = createMeteringEngine({
    store,
    metering: await target.openMetering(),
    clock,
    rules,
    schemas: new Map(),
    cronIntervalMs: 1000,
  });
  const reference = createMeteringEngine({
    store,
    metering: createInMemoryMeteringStore(storage),
    clock,
    rules,
    schemas: new Map(),
    cronIntervalMs: 1000,
  });
  const lastBucketDay = Math.floor(
    Math.max(...foldSweepEvents(rules, history).deltas.map((d) => d.bucketStartMs)) / day,
  );
  expect(await target.oldLayout.coverage()).toBe((lastBucketDay + 1) * day);

  const compare = async (): Promise<void> => {
    await reference.sweep();
    const ranges = [
      [day0, day0 + 6 * day],
      [day0 + 90 * 60_000, day0 + 5 * day + 7 * 60_000],
      [day0 + 2 * day, day0 + 4 * day],
      [day0 + 3 * day + 60_000, day0 + 3 * day + 3 * 3_600_000],
    ];
    for (const [from, to] of ranges)
      for (const rule of rules)
        for (const principalId of ['p', 'q'])
          for (const granularity of granularities) {
            const input = {
              principalId,
              rule: rule.name,
              start: formatUtcTimestamp(from ?? 0),
              end: formatUtcTimestamp(to ?? 0),
              granularity,
            };
            expect(await upgraded.queryState(input)).toEqual(await reference.queryState(input));
          }
  };
  await compare();
  // New events after the covered day, and late ones into the days before it (their rollups stay unread).
  for (let i = 0; i < 40; i += 1)
    await append(i % 3 === 0 ? 'q' : 'p', day0 + 3 * day + i * 4_000_000, i);
  for (let i = 0; i < 20; i += 1) await append('p', day0 + i * 9_000_000, 100 - i);
  await compare();
  expect(await upgraded.sweep()).toBe(60);
  await compare();
  // Closing an engine closes the shared log too: the target closes it once.
  await target.close();
}

describe('upgrading metering to rollups on SQLite', () => {
  it('answers exactly as a fresh fold, reading the old days from the minutes', async () => {
    const storage = createSqliteStorage({ path: ':memory:' });
    const db = storage.database;
    applyMigrations(db, sqliteMeteringMigrations.slice(0, 1));
    await checkUpgrade({
      storage,
      oldLayout: {
        writeBucket: async (rule, principal, start, count, value) => {
          db.prepare('INSERT INTO pre_aggregates VALUES (?, ?, ?, ?, ?)').run(
            rule,
            principal,
            start,
            count,
            value,
          );
        },
        writeCheckpoint: async (position) => {
          db.prepare("INSERT INTO sweep_checkpoints VALUES ('metering', ?)").run(position);
        },
        coverage: async () => {
          const value = db
            .prepare('SELECT from_ms FROM pre_aggregate_rollup_coverage')
            .pluck()
            .get();
          return value === null ? null : Number(value);
        },
      },
      openMetering: async () => createSqliteMeteringStore(storage),
      close: () => storage.close(),
    });
  });

  it('counts rollups everywhere on a database that had no buckets', async () => {
    const storage = createSqliteStorage({ path: ':memory:' });
    createSqliteMeteringStore(storage);
    const value: unknown = storage.database
      .prepare('SELECT from_ms FROM pre_aggregate_rollup_coverage')
      .pluck()
      .get();
    expect(value).toBeNull();
    await storage.close();
  });
});

describe('upgrading metering to rollups on PostgreSQL', () => {
  let database: TestDatabase | undefined;
  afterAll(async () => {
    await database?.drop();
  });

  it('answers exactly as a fresh fold, reading the old days from the minutes', async () => {
    database = await createTestDatabase('aevon_rollup_upgrade');
    const storage = await createPostgresStorage({
      connectionString: database.url,
      schema: 'upgrade',
    });
    const { pool } = storage;
    await migrate(pool, { schema: 'upgrade', migrations: postgresMeteringMigrations.slice(0, 1) });
    await checkUpgrade({
      storage,
      oldLayout: {
        writeBucket: async (rule, principal, start, count, value) => {
          await pool.query('INSERT INTO upgrade.pre_aggregates VALUES ($1, $2, $3, $4, $5)', [
            rule,
            principal,
            String(start),
            String(count),
            value,
          ]);
        },
        writeCheckpoint: async (position) => {
          await pool.query("INSERT INTO upgrade.sweep_checkpoints VALUES ('metering', $1)", [
            position,
          ]);
        },
        coverage: async () => {
          const result = await pool.query<{ from_ms: string | null }>(
            'SELECT from_ms::text AS from_ms FROM upgrade.pre_aggregate_rollup_coverage',
          );
          const value = result.rows[0]?.from_ms;
          return value === null || value === undefined ? null : Number(value);
        },
      },
      openMetering: () => createPostgresMeteringStore(storage),
      close: () => storage.close(),
    });
  });
});
