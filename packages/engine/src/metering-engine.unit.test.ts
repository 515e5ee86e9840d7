import type { EventStore } from '@aevon/core';
import {
  createEventStore,
  createInMemoryMeteringStore,
  createInMemoryStorage,
  isAevonError,
} from '@aevon/core';
import { createManualClock, createSeededRandom } from '@aevon/core/testing';
import { describe, expect, it } from 'vitest';
import type { MeteringEngine, Rule } from './contract.js';
import { createMeteringEngine } from './metering-engine.js';
import { seedEvent } from '../../../test/support/seed-quick-start.js';

const rules: readonly Rule[] = [
  { name: 'count_api_requests', sourceEvent: 'api.request', operator: 'count' },
  { name: 'tokens_sum', sourceEvent: 'llm.call', operator: 'sum', field: 'tokens.input' },
  { name: 'latency_min', sourceEvent: 'llm.call', operator: 'min', field: 'latency' },
  { name: 'latency_max', sourceEvent: 'llm.call', operator: 'max', field: 'latency' },
];

const schemas = new Map([
  [
    'typed',
    new Map([[1, { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } }]]),
  ],
]);

function createEngine(nowMs = Date.UTC(2026, 1, 12)): {
  engine: MeteringEngine;
  clock: ReturnType<typeof createManualClock>;
  store: EventStore;
} {
  const clock = createManualClock(nowMs);
  const storage = createInMemoryStorage();
  const store = createEventStore({ storage, clock, random: createSeededRandom(7) });
  const metering = createInMemoryMeteringStore(storage);
  return {
    engine: createMeteringEngine({
      store,
      metering,
      clock,
      rules,
      schemas,
      cronIntervalMs: 60_000,
    }),
    clock,
    store,
  };
}

/** The ids in the whole log, in order: what was written. */
async function storedIds(store: EventStore): Promise<string[]> {
  return (await store.readAllPage({ limit: 1000 })).map((event) => event.id);
}

const envelope = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...seedEvent,
  ...overrides,
});

const query = {
  principalId: 'user_123',
  start: '2026-02-11T10:00:00Z',
  end: '2026-02-11T11:00:00Z',
};

async function rejection(promise: Promise<unknown>): Promise<{ code: string; details: unknown }> {
  try {
    await promise;
  } catch (error) {
    if (isAevonError(error)) return { code: error.code, details: error.details };
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('createMeteringEngine', () => {
  it('answers the seed example exactly', async () => {
    // Given
    const { engine } = createEngine();
    await engine.ingest(envelope());
    // When
    const response = await engine.queryState({
      ...query,
      rule: 'count_api_requests',
      granularity: 'total',
    });
    // Then
    expect(JSON.stringify(response)).toBe(
      '{"principal_id":"user_123","rule":"count_api_requests","operator":"count","start":"2026-02-11T10:00:00Z",' +
        '"end":"2026-02-11T11:00:00Z","granularity":"total","data_through":"2026-02-11T11:00:00Z",' +
        '"staleness_seconds":0,"values":[{"window_start":"2026-02-11T10:00:00Z","window_end":"2026-02-11T11:00:00Z",' +
        '"value":"1","event_count":1}]}',
    );
  });

  it('gives the same answer before and after a sweep, and a second sweep folds nothing', async () => {
    const { engine } = createEngine();
    await engine.ingest(envelope());
    await engine.ingest(envelope({ id: 'evt-002', occurred_at: '2026-02-11T10:31:30+01:00' }));
    const before = await engine.queryState({
      ...query,
      rule: 'count_api_requests',
      granularity: '1m',
    });
    expect(await engine.sweep()).toBe(2);
    expect(await engine.sweep()).toBe(0);
    const after = await engine.queryState({
      ...query,
      rule: 'count_api_requests',
      granularity: '1m',
    });
    expect(after).toEqual(before);
    expect(after.values).toEqual([
      {
        window_start: '2026-02-11T10:30:00Z',
        window_end: '2026-02-11T10:31:00Z',
        value: '1',
        event_count: 1,
      },
    ]);
  });

  it('counts a late event in its own minute, after the sweep has passed it', async () => {
    const { engine } = createEngine();
    await engine.ingest(envelope({ occurred_at: '2026-02-11T10:45:10Z' }));
    await engine.sweep();
    await engine.ingest(envelope({ id: 'late', occurred_at: '2026-02-11T10:05:59.999Z' }));
    const response = await engine.queryState({
      ...query,
      rule: 'count_api_requests',
      granularity: '1m',
    });
    expect(response.values.map((w) => [w.window_start, w.event_count])).toEqual([
      ['2026-02-11T10:05:00Z', 1],
      ['2026-02-11T10:45:00Z', 1],
    ]);
    await engine.sweep();
    expect(
      await engine.queryState({ ...query, rule: 'count_api_requests', granularity: '1m' }),
    ).toEqual(response);
  });

  it('sums exactly and takes min and max, with empty total windows', async () => {
    const { engine } = createEngine();
    const llm = (id: string, input: unknown, latency: unknown) =>
      envelope({ id, type: 'llm.call', data: { tokens: { input }, latency } });
    await engine.ingest(llm('a', 0.1, '2.50'));
    await engine.sweep();
    await engine.ingest(llm('b', '0.2', -1));
    const total = async (rule: string) => (await engine.queryState({ ...query, rule })).values[0];
    expect(await total('tokens_sum')).toMatchObject({ value: '0.3', event_count: 2 });
    expect(await total('latency_min')).toMatchObject({ value: '-1' });
    expect(await total('latency_max')).toMatchObject({ value: '2.5' });
    const empty = { ...query, principalId: 'nobody' };
    expect((await engine.queryState({ ...empty, rule: 'tokens_sum' })).values).toEqual([
      {
        window_start: '2026-02-11T10:00:00Z',
        window_end: '2026-02-11T11:00:00Z',
        value: '0',
        event_count: 0,
      },
    ]);
    expect(
      (await engine.queryState({ ...empty, rule: 'latency_max' })).values[0]?.value,
    ).toBeNull();
    expect(
      (await engine.queryState({ ...empty, rule: 'latency_max', granularity: '1h' })).values,
    ).toEqual([]);
  });

  it('groups into UTC hours and days, clipped to the widened range', async () => {
    const { engine } = createEngine();
    await engine.ingest(envelope({ occurred_at: '2026-02-11T10:30:00Z' }));
    await engine.ingest(envelope({ id: 'e2', occurred_at: '2026-02-11T12:10:00Z' }));
    const response = await engine.queryState({
      principalId: 'user_123',
      rule: 'count_api_requests',
      start: '2026-02-11T10:20:30Z',
      end: '2026-02-11T12:10:01Z',
      granularity: '1h',
    });
    expect(response.values.map((w) => [w.window_start, w.window_end, w.value])).toEqual([
      ['2026-02-11T10:20:00Z', '2026-02-11T11:00:00Z', '1'],
      ['2026-02-11T12:00:00Z', '2026-02-11T12:11:00Z', '1'],
    ]);
    const days = await engine.queryState({
      ...query,
      end: '2026-02-13T00:00:00Z',
      rule: 'count_api_requests',
      granularity: '1d',
    });
    expect(days.values).toEqual([
      {
        window_start: '2026-02-11T10:00:00Z',
        window_end: '2026-02-12T00:00:00Z',
        value: '2',
        event_count: 2,
      },
    ]);
    expect(days.data_through).toBe('2026-02-12T00:00:00Z');
  });

  it('rejects invalid envelopes naming the field, and writes nothing', async () => {
    const { engine, store } = createEngine();
    const cases: [Record<string, unknown>, string, string][] = [
      [envelope({ extra: 1 }), 'AEV_REQUEST_INVALID', 'extra'],
      [envelope({ id: 5 }), 'AEV_REQUEST_INVALID', 'id'],
      [envelope({ principal_id: undefined }), 'AEV_REQUEST_INVALID', 'principal_id'],
      [envelope({ occurred_at: '2026-02-11T10:30:00' }), 'AEV_REQUEST_INVALID', 'occurred_at'],
      [envelope({ data: [] }), 'AEV_REQUEST_INVALID', 'data'],
      [envelope({ schema_version: -1 }), 'AEV_REQUEST_INVALID', 'schema_version'],
      [envelope({ schema_version: 1.5 }), 'AEV_REQUEST_INVALID', 'schema_version'],
      [envelope({ metadata: { a: 1 } }), 'AEV_REQUEST_INVALID', 'metadata'],
      [
        envelope({ type: 'llm.call', data: { tokens: {}, latency: 1 } }),
        'AEV_REQUEST_INVALID',
        'data.tokens.input',
      ],
      [
        envelope({ type: 'llm.call', data: { tokens: { input: 'x' }, latency: 1 } }),
        'AEV_REQUEST_INVALID',
        'data.tokens.input',
      ],
    ];
    for (const [body, code, field] of cases) {
      const error = await rejection(engine.ingest(body));
      expect(error.code, JSON.stringify(body)).toBe(code);
      expect((error.details as { field?: string }).field).toBe(field);
    }
    expect(await storedIds(store)).toEqual([]);
  });

  it('validates data against the schema of its type and version', async () => {
    const { engine, store } = createEngine();
    await engine.ingest(envelope({ type: 'typed', schema_version: 1, data: { n: 1 } }));
    expect(
      (
        await rejection(
          engine.ingest(envelope({ id: 'x', type: 'typed', schema_version: 1, data: { n: 'a' } })),
        )
      ).code,
    ).toBe('AEV_SCHEMA_VALIDATION_FAILED');
    expect(
      (
        await rejection(
          engine.ingest(envelope({ id: 'y', type: 'typed', schema_version: 2, data: {} })),
        )
      ).code,
    ).toBe('AEV_SCHEMA_VALIDATION_FAILED');
    expect(await rejection(engine.ingest(envelope()))).toMatchObject({
      code: 'AEV_EVENT_ID_DUPLICATE',
    });
    // Only the valid event was written, once
    expect(await storedIds(store)).toEqual(['evt-001']);
  });

  it('reports each batch item on its own', async () => {
    const { engine } = createEngine();
    await engine.ingest(envelope({ id: 'old' }));
    const results = await engine.ingestBatch([
      envelope({ id: 'new' }),
      envelope({ id: 'old' }),
      envelope({ id: 'bad', data: 1 }),
      7,
    ]);
    expect(results.map((r) => [r.id, r.status])).toEqual([
      ['new', 'accepted'],
      ['old', 'duplicate'],
      ['bad', 'rejected'],
      [null, 'rejected'],
    ]);
    const state = await engine.queryState({ ...query, rule: 'count_api_requests' });
    expect(state.values[0]?.event_count).toBe(2);
  });

  it('rejects invalid state queries naming the parameter', async () => {
    const { engine } = createEngine();
    const cases: [Record<string, unknown>, string, string | undefined][] = [
      [{ ...query, rule: 'nope' }, 'AEV_RULE_UNKNOWN', undefined],
      [{ ...query }, 'AEV_REQUEST_INVALID', 'rule'],
      [{ ...query, rule: 'count_api_requests', start: undefined }, 'AEV_REQUEST_INVALID', 'start'],
      [{ ...query, rule: 'count_api_requests', end: 'yesterday' }, 'AEV_REQUEST_INVALID', 'end'],
      [{ ...query, rule: 'count_api_requests', end: query.start }, 'AEV_REQUEST_INVALID', 'end'],
      [
        { ...query, rule: 'count_api_requests', end: '2027-03-01T00:00:00Z' },
        'AEV_REQUEST_INVALID',
        'end',
      ],
      [
        { ...query, rule: 'count_api_requests', granularity: '5m' },
        'AEV_REQUEST_INVALID',
        'granularity',
      ],
    ];
    for (const [input, code, field] of cases) {
      const error = await rejection(engine.queryState({ principalId: 'user_123', ...input }));
      expect(error.code, JSON.stringify(input)).toBe(code);
      if (field !== undefined) expect((error.details as { field?: string }).field).toBe(field);
    }
  });

  it('reports data_through as now when the range reaches the future, and closes after a final sweep', async () => {
    const { engine } = createEngine(Date.UTC(2026, 1, 11, 10, 40, 12, 345));
    await engine.ingest(envelope());
    const response = await engine.queryState({ ...query, rule: 'count_api_requests' });
    expect(response.data_through).toBe('2026-02-11T10:40:12.345Z');
    await engine.ready();
    await engine.close();
    await expect(engine.ready()).rejects.toMatchObject({ code: 'AEV_STORAGE_UNAVAILABLE' });
  });
});
