// The verify-and-rebuild contract, shared by the engine's tests on every metering store (memory, SQLite, PostgreSQL):
// verify finds every kind of drift between the pre-aggregates and the log, and a rebuild repairs it while readers,
// ingest and the live sweep go on, with every answer exact at every step.
import type { EventStore, MeteringStore } from '@aevon/core';
import { createEventStore, formatUtcTimestamp, rebuildStagingName } from '@aevon/core';
import { createManualClock, createSeededRandom } from '@aevon/core/testing';
import type { MeteringEngine, Rule } from '@aevon/engine';
import { createMeteringEngine, rebuildRule, verifyState } from '@aevon/engine';
import { describe, expect, it } from 'vitest';
import type { MeteringTarget } from './metering-state-model.js';

const rules: readonly Rule[] = [
  { name: 'calls', sourceEvent: 'api_call', operator: 'count' },
  { name: 'tokens', sourceEvent: 'api_call', operator: 'sum', field: 'tokens' },
];
const [calls, tokens] = rules as [Rule, Rule];
const baseMs = Date.UTC(2026, 1, 11, 22, 0);
const minuteMs = 60_000;
const hourMs = 3_600_000;
const dayMs = 86_400_000;

interface Fixture {
  readonly store: EventStore;
  readonly metering: MeteringStore;
  readonly engine: MeteringEngine;
  /** Ingests `count` events of `tokens` each for a principal, in minute `minute` after the base time. */
  readonly ingest: (
    principal: string,
    minute: number,
    count: number,
    tokens?: number,
  ) => Promise<void>;
  /** The `total` state of a rule for a principal over the whole test range. */
  readonly total: (
    rule: string,
    principal: string,
  ) => Promise<{ value: string | null; count: number }>;
  readonly close: () => Promise<void>;
}

let eventCounter = 0;

async function openFixture(open: () => Promise<MeteringTarget>): Promise<Fixture> {
  const target = await open();
  const clock = createManualClock(baseMs + 24 * 3_600_000);
  const store = createEventStore({
    storage: target.storage,
    clock,
    random: createSeededRandom(7),
  });
  const engine = createMeteringEngine({
    store,
    metering: target.metering,
    clock,
    rules,
    schemas: new Map(),
    cronIntervalMs: 1000,
  });
  return {
    store,
    metering: target.metering,
    engine,
    ingest: async (principal, minute, count, amount = 10) => {
      for (let i = 0; i < count; i += 1) {
        eventCounter += 1;
        await engine.ingest({
          id: `evt-${process.pid}-${eventCounter}`,
          type: 'api_call',
          principal_id: principal,
          occurred_at: formatUtcTimestamp(baseMs + minute * minuteMs + i),
          data: { tokens: amount },
        });
      }
    },
    total: async (rule, principal) => {
      const response = await engine.queryState({
        principalId: principal,
        rule,
        start: formatUtcTimestamp(baseMs - 3_600_000),
        end: formatUtcTimestamp(baseMs + 3_600_000),
        granularity: 'total',
      });
      const window = response.values[0];
      expect(window).toBeDefined();
      return { value: window?.value ?? null, count: window?.event_count ?? -1 };
    },
    close: target.close,
  };
}

/** Defines the verify-and-rebuild tests on the metering store that `open` creates, fresh for every test. */
export function describeMaintenance(name: string, open: () => Promise<MeteringTarget>): void {
  const withFixture = (body: (fixture: Fixture) => Promise<void>) => async () => {
    const fixture = await openFixture(open);
    try {
      await body(fixture);
    } finally {
      await fixture.close();
    }
  };

  describe(`verify and rebuild on ${name}`, () => {
    it(
      'verify finds no difference in pre-aggregates built by the sweep, for all principals or one',
      withFixture(async ({ store, metering, engine, ingest }) => {
        await ingest('p1', 0, 3);
        await ingest('p2', 1, 2, 5);
        await engine.sweep();
        await ingest('p1', 2, 4); // an unswept tail, which verify leaves to the sweep
        const all = await verifyState({ store, metering, rules });
        expect(all).toMatchObject({
          rules: ['calls', 'tokens'],
          eventsRead: 5,
          bucketsStored: 4,
          bucketsExpected: 4,
          // An hour and a day per rule and principal.
          rollupsStored: 8,
          rollupsExpected: 8,
          differenceCount: 0,
          differences: [],
        });
        expect(all.checkpoint).not.toBeNull();
        const one = await verifyState({ store, metering, rules: [tokens], principalId: 'p2' });
        expect(one).toMatchObject({ eventsRead: 2, bucketsStored: 1, differenceCount: 0 });
      }),
    );

    it(
      'verify reports wrong, extra and missing buckets with both values, and caps the list',
      withFixture(async ({ store, metering, engine, ingest }) => {
        await ingest('p1', 0, 3);
        await ingest('p1', 1, 1);
        await engine.sweep();
        // Drift of every kind, written behind the sweep's back: a wrong count, a bucket no event explains, and (for
        // tokens) every bucket gone.
        await metering.mergeBuckets([
          { ...bucket(calls, 'p1', 0), eventCount: 2, value: '2' },
          { ...bucket(calls, 'ghost', 5), eventCount: 1, value: '1' },
        ]);
        await metering.deleteRule('tokens');
        const report = await verifyState({ store, metering, rules, differencesMax: 3 });
        // Each drifted minute drifts its hour and day rollups too (mergeBuckets writes both).
        expect(report.differenceCount).toBe(10);
        expect(report.differences).toEqual([
          {
            rule: 'calls',
            principalId: 'ghost',
            widthMs: minuteMs,
            bucketStartMs: baseMs + 5 * minuteMs,
            expected: null,
            stored: { eventCount: 1, value: '1' },
          },
          {
            rule: 'calls',
            principalId: 'p1',
            widthMs: minuteMs,
            bucketStartMs: baseMs,
            expected: { eventCount: 3, value: '3' },
            stored: { eventCount: 5, value: '5' },
          },
          expect.objectContaining({ rule: 'calls', widthMs: expect.any(Number) as number }),
        ]);
        const all = await verifyState({ store, metering, rules });
        expect(all.differences).toHaveLength(10);
        const dayStart = baseMs - (baseMs % dayMs);
        for (const difference of [
          {
            principalId: 'p1',
            widthMs: hourMs,
            bucketStartMs: baseMs,
            expected: { eventCount: 4, value: '4' },
            stored: { eventCount: 6, value: '6' },
          },
          {
            principalId: 'p1',
            widthMs: dayMs,
            bucketStartMs: dayStart,
            expected: { eventCount: 4, value: '4' },
            stored: { eventCount: 6, value: '6' },
          },
          {
            principalId: 'ghost',
            widthMs: hourMs,
            bucketStartMs: baseMs,
            expected: null,
            stored: { eventCount: 1, value: '1' },
          },
          {
            principalId: 'ghost',
            widthMs: dayMs,
            bucketStartMs: dayStart,
            expected: null,
            stored: { eventCount: 1, value: '1' },
          },
        ])
          expect(all.differences).toContainEqual({ rule: 'calls', ...difference });
        expect(all.differences).toContainEqual({
          rule: 'tokens',
          principalId: 'p1',
          widthMs: minuteMs,
          bucketStartMs: baseMs,
          expected: { eventCount: 3, value: '30' },
          stored: null,
        });
        expect(all.differences).toContainEqual({
          rule: 'tokens',
          principalId: 'p1',
          widthMs: dayMs,
          bucketStartMs: dayStart,
          expected: { eventCount: 4, value: '40' },
          stored: null,
        });
        const narrowed = await verifyState({ store, metering, rules: [calls], principalId: 'p1' });
        expect(narrowed.differenceCount).toBe(3);
      }),
    );

    it(
      'a rebuild repairs drift, leaves no staging behind, and verify then passes',
      withFixture(async ({ store, metering, engine, ingest, total }) => {
        await ingest('p1', 0, 3);
        await ingest('p2', 3, 2, 7);
        await engine.sweep();
        await metering.mergeBuckets([{ ...bucket(tokens, 'p1', 0), eventCount: 1, value: '1000' }]);
        expect(await total('tokens', 'p1')).toEqual({ value: '1030', count: 4 });
        const report = await rebuildRule({ store, metering, rule: tokens });
        expect(report).toMatchObject({ rule: 'tokens', eventsRead: 5, catchUps: 0 });
        expect(await total('tokens', 'p1')).toEqual({ value: '30', count: 3 });
        expect(await total('tokens', 'p2')).toEqual({ value: '14', count: 2 });
        expect((await verifyState({ store, metering, rules })).differenceCount).toBe(0);
        const staging = await metering.readBuckets({ rules: [rebuildStagingName('tokens')] });
        expect(staging.buckets).toEqual([]);
        expect(staging.rollups).toEqual([]);
      }),
    );

    it(
      'readers get exact answers throughout a rebuild while ingest and the live sweep go on',
      withFixture(async ({ store, metering, engine, ingest, total }) => {
        let expectedCount = 0;
        for (let minute = 0; minute < 12; minute += 1) {
          await ingest('p1', minute, 3);
          expectedCount += 3;
        }
        await engine.sweep();
        await metering.mergeBuckets([{ ...bucket(calls, 'p1', 4), eventCount: 1, value: '1' }]);
        const drift = 1;
        let pages = 0;
        let isSwapped = false;
        const report = await rebuildRule({
          store,
          metering,
          rule: calls,
          onProgress: async ({ eventsRead, eventsTotal }) => {
            pages += 1;
            expect(eventsTotal).not.toBeNull();
            expect(eventsRead).toBeLessThanOrEqual(eventsTotal ?? 0);
            // Before the swap the drifted buckets are still live; each answer is exactly them plus the tail.
            expect(await total('calls', 'p1')).toEqual({
              value: String(expectedCount + (isSwapped ? 0 : drift)),
              count: expectedCount + (isSwapped ? 0 : drift),
            });
            // The live sweep moves the checkpoint under the rebuild a few times: it must catch up before swapping.
            if (pages <= 3) {
              await ingest('p1', 20 + pages, 2);
              expectedCount += 2;
              await engine.sweep();
            }
          },
        });
        isSwapped = true;
        expect(report.catchUps).toBeGreaterThanOrEqual(1);
        expect(report.eventsRead).toBe(expectedCount);
        expect(await total('calls', 'p1')).toEqual({
          value: String(expectedCount),
          count: expectedCount,
        });
        await ingest('p1', 30, 1);
        await engine.sweep();
        expect(await total('calls', 'p1')).toEqual({
          value: String(expectedCount + 1),
          count: expectedCount + 1,
        });
        expect((await verifyState({ store, metering, rules })).differenceCount).toBe(0);
      }),
    );

    it(
      'a rebuild applies a changed rule definition to the whole history',
      withFixture(async ({ store, metering, engine, ingest }) => {
        await ingest('p1', 0, 2, 4);
        await ingest('p1', 0, 1, 9);
        await engine.sweep();
        const peak: Rule = {
          name: 'tokens',
          sourceEvent: 'api_call',
          operator: 'max',
          field: 'tokens',
        };
        // The minute and its hour and day rollups.
        expect((await verifyState({ store, metering, rules: [peak] })).differenceCount).toBe(3);
        await rebuildRule({ store, metering, rule: peak });
        const listing = await metering.readBuckets({ rules: ['tokens'] });
        expect(listing.buckets).toEqual([
          { rule: 'tokens', principalId: 'p1', bucketStartMs: baseMs, eventCount: 3, value: '9' },
        ]);
        expect(listing.rollups).toHaveLength(2);
        for (const rollup of listing.rollups)
          expect(rollup).toMatchObject({ eventCount: 3, value: '9' });
        expect((await verifyState({ store, metering, rules: [peak] })).differenceCount).toBe(0);
      }),
    );

    it(
      'a rebuild before the first sweep leaves nothing behind and counts no events',
      withFixture(async ({ store, metering, ingest }) => {
        await ingest('p1', 0, 2);
        const report = await rebuildRule({ store, metering, rule: calls });
        expect(report).toEqual({ rule: 'calls', checkpoint: null, eventsRead: 0, catchUps: 0 });
        expect(
          (await metering.readBuckets({ rules: ['calls', '~rebuild/calls'] })).buckets,
        ).toEqual([]);
      }),
    );
  });
}

function bucket(rule: Rule, principalId: string, minute: number) {
  return {
    rule: rule.name,
    operator: rule.operator,
    principalId,
    bucketStartMs: baseMs + minute * minuteMs,
  };
}
