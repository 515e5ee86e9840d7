// The metering engine on the SQL metering stores: the same scenarios on SQLite and PostgreSQL, plus concurrent
// sweeps of two nodes sharing one PostgreSQL database.
import type { Clock, MeteringStore, Storage } from '@aevon/core';
import { createEventStore, createSeededRandom } from '@aevon/core';
import { createManualClock } from '@aevon/core/testing';
import { createPostgresMeteringStore, createPostgresStorage } from '@aevon/postgres';
import { createSqliteMeteringStore, createSqliteStorage } from '@aevon/sqlite';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../../../test/support/postgres.js';
import { createTestDatabase } from '../../../test/support/postgres.js';
import type { MeteringEngine, Rule } from './contract.js';
import { createMeteringEngine } from './metering-engine.js';

const rules: readonly Rule[] = [
  { name: 'count_api_requests', sourceEvent: 'api.request', operator: 'count' },
  { name: 'tokens', sourceEvent: 'llm.call', operator: 'sum', field: 'tokens' },
  { name: 'tokens_max', sourceEvent: 'llm.call', operator: 'max', field: 'tokens' },
];
const query = {
  principalId: 'user_123',
  start: '2026-02-11T10:00:00Z',
  end: '2026-02-11T11:00:00Z',
};
const envelope = (id: string, occurredAt: string, type = 'api.request', data: object = {}) => ({
  id,
  principal_id: 'user_123',
  type,
  occurred_at: occurredAt,
  data,
});

type Opened = { storage: Storage; metering: MeteringStore };
const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const database of databases) await database.drop();
});

async function openPostgres(url: string): Promise<Opened> {
  const storage = await createPostgresStorage({ connectionString: url });
  return { storage, metering: await createPostgresMeteringStore(storage) };
}

const targets: [string, () => Promise<() => Promise<Opened>>][] = [
  [
    'sqlite',
    async () => async () => {
      const storage = createSqliteStorage({ path: ':memory:' });
      return { storage, metering: createSqliteMeteringStore(storage) };
    },
  ],
  [
    'postgres',
    async () => {
      const database = await createTestDatabase('aevon_metering');
      databases.push(database);
      return () => openPostgres(database.url);
    },
  ],
];

function engineOn(opened: Opened, clock: Clock): MeteringEngine {
  const store = createEventStore({ storage: opened.storage, clock, random: createSeededRandom(5) });
  return createMeteringEngine({
    store,
    metering: opened.metering,
    clock,
    rules,
    schemas: new Map(),
    cronIntervalMs: 60_000,
  });
}

describe.each(targets)('metering engine on %s', (_name, prepare) => {
  it('includes an event right after ingest, counts late events in their minute, and sweeps idempotently', async () => {
    const open = await prepare();
    const engine = engineOn(await open(), createManualClock(Date.UTC(2026, 1, 12)));
    try {
      await engine.ingest(envelope('e1', '2026-02-11T10:30:00Z'));
      const seed = await engine.queryState({
        ...query,
        rule: 'count_api_requests',
        granularity: 'total',
      });
      expect(seed.values).toEqual([
        {
          window_start: '2026-02-11T10:00:00Z',
          window_end: '2026-02-11T11:00:00Z',
          value: '1',
          event_count: 1,
        },
      ]);
      expect(await engine.sweep()).toBe(1);
      expect(await engine.sweep()).toBe(0);
      await engine.ingest(envelope('late', '2026-02-11T10:05:30+00:00'));
      await engine.ingest(envelope('t1', '2026-02-11T10:05:01Z', 'llm.call', { tokens: 0.1 }));
      await engine.ingest(envelope('t2', '2026-02-11T10:05:59Z', 'llm.call', { tokens: '0.2' }));
      const minutes = async () =>
        engine.queryState({ ...query, rule: 'count_api_requests', granularity: '1m' });
      const before = await minutes();
      expect(before.values.map((w) => [w.window_start, w.event_count])).toEqual([
        ['2026-02-11T10:05:00Z', 1],
        ['2026-02-11T10:30:00Z', 1],
      ]);
      expect(await engine.sweep()).toBe(3);
      expect(await minutes()).toEqual(before);
      expect((await engine.queryState({ ...query, rule: 'tokens' })).values[0]).toMatchObject({
        value: '0.3',
        event_count: 2,
      });
      await engine.ingest(envelope('t3', '2026-02-11T10:05:10Z', 'llm.call', { tokens: '1.25' }));
      expect(
        (await engine.queryState({ ...query, rule: 'tokens', granularity: '1m' })).values,
      ).toEqual([
        {
          window_start: '2026-02-11T10:05:00Z',
          window_end: '2026-02-11T10:06:00Z',
          value: '1.55',
          event_count: 3,
        },
      ]);
      expect((await engine.queryState({ ...query, rule: 'tokens_max' })).values[0]?.value).toBe(
        '1.25',
      );
    } finally {
      await engine.close();
    }
  });
});

describe('two engines on one PostgreSQL database', () => {
  it('never double count while sweeping concurrently', async () => {
    const database = await createTestDatabase('aevon_metering_pair');
    databases.push(database);
    const clock = createManualClock(Date.UTC(2026, 1, 12));
    const a = engineOn(await openPostgres(database.url), clock);
    const b = engineOn(await openPostgres(database.url), clock);
    try {
      let ingested = 0;
      for (let round = 0; round < 5; round += 1) {
        const batch = Array.from({ length: 40 }, (_, i) => {
          const minute = String((i * 7 + round) % 60).padStart(2, '0');
          return envelope(`r${round}-${i}`, `2026-02-11T10:${minute}:00Z`, 'llm.call', {
            tokens: 1,
          });
        });
        const results = await (round % 2 === 0 ? a : b).ingestBatch(batch);
        ingested += results.filter((r) => r.status === 'accepted').length;
        const sweeps = await Promise.all([a.sweep(), b.sweep(), a.sweep(), b.sweep()]);
        expect(sweeps.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(40);
        for (const engine of [a, b]) {
          const state = await engine.queryState({ ...query, rule: 'tokens' });
          expect(state.values[0]).toMatchObject({ value: String(ingested), event_count: ingested });
        }
      }
      await Promise.all([a.sweep(), b.sweep()]);
      const final = await a.queryState({ ...query, rule: 'tokens', granularity: '1m' });
      expect(final.values.reduce((sum, w) => sum + w.event_count, 0)).toBe(200);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('sweep ownership on PostgreSQL', () => {
  it('lets another node take over the sweep when the owner dies holding the lock', async () => {
    const database = await createTestDatabase('aevon_metering_takeover');
    databases.push(database);
    const clock = createManualClock(Date.UTC(2026, 1, 12));
    const dead = await openPostgres(database.url);
    const survivor = engineOn(await openPostgres(database.url), clock);
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered = (): void => undefined;
    const isInside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    // The dying node holds the sweep lock and never finishes on its own.
    const owner = dead.metering.withSweepLock(async () => {
      entered();
      await held;
    });
    try {
      await isInside;
      await survivor.ingest(envelope('t-1', '2026-02-11T10:30:00Z'));
      expect(await survivor.sweep()).toBe(0);
      // Its session ends (a crash, a network partition): PostgreSQL frees the advisory lock with it.
      const admin = new pg.Client({ connectionString: database.url });
      await admin.connect();
      try {
        const killed = await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted",
        );
        expect(killed.rowCount).toBe(1);
      } finally {
        await admin.end();
      }
      expect(await survivor.sweep()).toBe(1);
      const state = await survivor.queryState({ ...query, rule: 'count_api_requests' });
      expect(state.values[0]).toMatchObject({ value: '1', event_count: 1 });
    } finally {
      release();
      await owner.catch(() => undefined);
      await survivor.close();
      await dead.storage.close();
    }
  });
});

// Goal: a raw tail longer than one page (1,000 events) is merged exactly, page after page and across event types,
// before and after a sweep moves the checkpoint into it; and a tail over the store's maximum answers AEV_OVERLOADED
// instead of an unbounded scan. On PostgreSQL the first page comes with the buckets in one statement and later
// pages in their own.
const tailTargets: [string, (tailEventsMax?: number) => Promise<Opened>][] = [
  [
    'sqlite',
    async (tailEventsMax) => {
      const storage = createSqliteStorage({ path: ':memory:' });
      return {
        storage,
        metering: createSqliteMeteringStore(
          storage,
          tailEventsMax === undefined ? {} : { tailEventsMax },
        ),
      };
    },
  ],
  [
    'postgres',
    async (tailEventsMax) => {
      const database = await createTestDatabase('aevon_metering_tail');
      databases.push(database);
      const storage = await createPostgresStorage({ connectionString: database.url });
      const options = tailEventsMax === undefined ? {} : { tailEventsMax };
      return { storage, metering: await createPostgresMeteringStore(storage, options) };
    },
  ],
];

describe.each(tailTargets)('a long raw tail on %s', (_name, open) => {
  it('is merged exactly over several pages, and refused past the maximum', async () => {
    const clock = createManualClock(Date.UTC(2026, 1, 12));
    const opened = await open();
    const engine = engineOn(opened, clock);
    let calls = 0;
    let tokens = 0;
    let n = 0;
    const ingest = async (count: number): Promise<void> => {
      for (let done = 0; done < count; done += 500) {
        const batch = Array.from({ length: Math.min(500, count - done) }, () => {
          n += 1;
          const minute = String(n % 60).padStart(2, '0');
          if (n % 3 === 0) {
            tokens += n % 7;
            return envelope(`t-${n}`, `2026-02-11T10:${minute}:00Z`, 'llm.call', { tokens: n % 7 });
          }
          calls += 1;
          return envelope(`c-${n}`, `2026-02-11T10:${minute}:00Z`);
        });
        const results = await engine.ingestBatch(batch);
        expect(results.every((result) => result.status === 'accepted')).toBe(true);
      }
    };
    const check = async (): Promise<void> => {
      const count = await engine.queryState({ ...query, rule: 'count_api_requests' });
      expect(count.values[0]).toMatchObject({ value: String(calls), event_count: calls });
      const sum = await engine.queryState({ ...query, rule: 'tokens' });
      expect(sum.values[0]).toMatchObject({ value: String(tokens) });
    };
    try {
      await ingest(3_700);
      await check();
      expect(await engine.sweep()).toBe(3_700);
      await ingest(2_600);
      await check();
    } finally {
      await engine.close();
    }
    const bounded = await open(1_500);
    const refusing = engineOn(bounded, clock);
    try {
      const store = createEventStore({
        storage: bounded.storage,
        clock,
        random: createSeededRandom(9),
      });
      for (let i = 0; i < 4; i += 1) {
        await store.append(
          'principals/user_123',
          Array.from({ length: 500 }, (_, j) => ({
            id: `bulk-${i}-${j}`,
            type: 'api.request',
            data: {},
            occurredAt: '2026-02-11T10:10:00Z',
          })),
        );
      }
      await expect(
        refusing.queryState({ ...query, rule: 'count_api_requests' }),
      ).rejects.toMatchObject({
        code: 'AEV_OVERLOADED',
      });
    } finally {
      await refusing.close();
    }
  }, 60_000);
});
