// Goal: a sweep over a synchronous storage (SQLite) must not hold the event loop for its whole backlog, or the server
// stops answering (health checks included) until it ends. Method: a real SQLite store with a multi-page backlog; an
// I/O-phase callback queued when the sweep starts must run before the sweep finishes.
import type { MeteringRule } from '@aevon/core';
import { createEventStore, createSeededRandom } from '@aevon/core';
import { createManualClock } from '@aevon/core/testing';
import { createSqliteMeteringStore, createSqliteStorage } from '@aevon/sqlite';
import { describe, expect, it } from 'vitest';
import { runSweep } from './sweeper.js';

const rules: readonly MeteringRule[] = [
  { name: 'calls', sourceEvent: 'api.request', operator: 'count' },
];

describe('runSweep on SQLite', () => {
  it('yields to the event loop between pages, and folds the whole backlog', async () => {
    // Given a backlog of five pages of ten events
    const storage = createSqliteStorage({ path: ':memory:' });
    const clock = createManualClock(Date.UTC(2026, 1, 12));
    const store = createEventStore({ storage, clock, random: createSeededRandom(1) });
    const metering = createSqliteMeteringStore(storage);
    for (let i = 0; i < 50; i += 1) {
      await store.append('principals/p', [
        { id: `e${i}`, type: 'api.request', data: {}, occurredAt: '2026-02-11T10:30:00Z' },
      ]);
    }
    // When a sweep runs while another callback waits for the event loop
    const order: string[] = [];
    setImmediate(() => order.push('other callback'));
    const report = await runSweep({ store, metering, rules, pageEvents: 10, pagesMax: 100 });
    order.push('sweep done');
    // Then the callback ran in between, and every event was folded once
    expect(order).toEqual(['other callback', 'sweep done']);
    expect(report).toMatchObject({ folded: 50, read: 50, isOwner: true });
    await store.close();
  });

  it('stops starting pages at its deadline, and the next sweep carries on from the checkpoint', async () => {
    // Given a backlog of five pages, and a clock that moves one second each time it is read
    const storage = createSqliteStorage({ path: ':memory:' });
    let nowMs = Date.UTC(2026, 1, 12);
    const clock = { nowMs: () => (nowMs += 1000) };
    const store = createEventStore({ storage, clock, random: createSeededRandom(1) });
    const metering = createSqliteMeteringStore(storage);
    for (let i = 0; i < 50; i += 1) {
      await store.append('principals/p', [
        { id: `e${i}`, type: 'api.request', data: {}, occurredAt: '2026-02-11T10:30:00Z' },
      ]);
    }
    // When a sweep may run 1.5 s of that clock
    const bounded = await runSweep({
      store,
      metering,
      rules,
      pageEvents: 10,
      pagesMax: 100,
      deadline: { clock, atMs: clock.nowMs() + 1500 },
    });
    // Then it stopped after two pages, and an unbounded sweep folds exactly the rest
    expect(bounded.folded).toBe(20);
    const rest = await runSweep({ store, metering, rules, pageEvents: 10, pagesMax: 100 });
    expect(rest.folded).toBe(30);
    await store.close();
  });
});
