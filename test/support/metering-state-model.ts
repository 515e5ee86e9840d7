// The metering state model, shared by the engine's tests on every metering store: the read path (pre-aggregates plus
// raw tail) must always equal a direct recomputation from the raw events, whatever the interleaving of ingests, late
// events and sweeps. fast-check generates event sets and sweep schedules; after every sweep and at the end, the
// engine's answer for every rule, principal and granularity is compared with a naive fold of the model's events.
import type { MeteringStore, Storage } from '@aevon/core';
import {
  addDecimal,
  compareDecimal,
  createEventStore,
  formatUtcTimestamp,
  parseDecimal,
} from '@aevon/core';
import { createManualClock, createSeededRandom } from '@aevon/core/testing';
import type { Granularity, Rule, StateWindow } from '@aevon/engine';
import { createMeteringEngine } from '@aevon/engine';
import fc from 'fast-check';
import { expect } from 'vitest';

const rules: readonly Rule[] = [
  { name: 'calls', sourceEvent: 'a', operator: 'count' },
  { name: 'total', sourceEvent: 'b', operator: 'sum', field: 'v' },
  { name: 'low', sourceEvent: 'b', operator: 'min', field: 'v' },
  { name: 'high', sourceEvent: 'b', operator: 'max', field: 'v' },
];
const baseMs = Date.UTC(2026, 1, 11, 22, 0);
const granularities: readonly Granularity[] = ['total', '1m', '1h', '1d'];
const unitMs: Record<Granularity, number> = {
  total: 0,
  '1m': 60_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
};

interface ModelEvent {
  readonly principal: string;
  readonly type: 'a' | 'b';
  readonly occurredMs: number;
  readonly value: string | null;
}

const valueArb = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.integer({ min: -99999, max: 99999 }).map((n) => `${n / 100}`),
  fc.constantFrom('0.1', '1e2', '-0.001', 0.1, 2.5),
);
const eventArb = fc.record({
  principal: fc.constantFrom('p0', 'p1', 'p/2'),
  type: fc.constantFrom<'a' | 'b'>('a', 'b'),
  // Mostly four hours around midnight, so that hour and day windows are crossed, and some over three days, so
  // that day rollups fill; any order, so many events are late.
  offsetMs: fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 4 * 3_600_000 }) },
    { weight: 1, arbitrary: fc.integer({ min: -86_400_000, max: 3 * 86_400_000 }) },
  ),
  value: valueArb,
  // Written straight to the log without the field: old events the sweep and the tail must skip.
  isRaw: fc.boolean(),
});
const stepArb = fc.oneof(
  { weight: 4, arbitrary: eventArb.map((event) => ({ kind: 'ingest' as const, event })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'sweep' as const }) },
);
// Short ranges around midnight, and long ones that hold whole days (read from the day and hour rollups).
const rangeArb = fc
  .oneof(
    fc.tuple(
      fc.integer({ min: -600_000, max: 4 * 3_600_000 }),
      fc.integer({ min: 1, max: 5 * 3_600_000 }),
    ),
    fc.tuple(
      fc.integer({ min: -2 * 86_400_000, max: 86_400_000 }),
      fc.integer({ min: 86_400_000, max: 5 * 86_400_000 }),
    ),
  )
  .map(([start, length]) => ({ startMs: baseMs + start, endMs: baseMs + start + length }));

function recompute(
  events: readonly ModelEvent[],
  rule: Rule,
  principal: string,
  range: { startMs: number; endMs: number },
  granularity: Granularity,
): StateWindow[] {
  const fromMs = Math.floor(range.startMs / 60_000) * 60_000;
  const toMs = Math.ceil(range.endMs / 60_000) * 60_000;
  const windows = new Map<number, { start: number; end: number; count: number; value: string }>();
  for (const event of events) {
    if (event.principal !== principal || event.type !== rule.sourceEvent) continue;
    if (event.occurredMs < fromMs || event.occurredMs >= toMs) continue;
    const value = rule.operator === 'count' ? '1' : event.value;
    if (value === null) continue;
    const unit = unitMs[granularity];
    const start =
      unit === 0 ? fromMs : Math.max(fromMs, Math.floor(event.occurredMs / unit) * unit);
    const end =
      unit === 0 ? toMs : Math.min(toMs, Math.floor(event.occurredMs / unit) * unit + unit);
    const old = windows.get(start);
    const pick = (a: string, b: string): string => {
      if (rule.operator === 'min') return compareDecimal(a, b) <= 0 ? a : b;
      if (rule.operator === 'max') return compareDecimal(a, b) >= 0 ? a : b;
      return addDecimal(a, b);
    };
    windows.set(start, {
      start,
      end,
      count: (old?.count ?? 0) + 1,
      value: old === undefined ? value : pick(old.value, value),
    });
  }
  if (granularity === 'total' && windows.size === 0) {
    const empty = rule.operator === 'count' || rule.operator === 'sum' ? '0' : null;
    return [
      {
        window_start: formatUtcTimestamp(fromMs),
        window_end: formatUtcTimestamp(toMs),
        value: empty,
        event_count: 0,
      },
    ];
  }
  return [...windows.values()]
    .sort((a, b) => a.start - b.start)
    .map((w) => ({
      window_start: formatUtcTimestamp(w.start),
      window_end: formatUtcTimestamp(w.end),
      value: w.value,
      event_count: w.count,
    }));
}

/** A fresh, empty event log with its metering store, and how to release it. */
export interface MeteringTarget {
  readonly storage: Storage;
  readonly metering: MeteringStore;
  readonly close: () => Promise<void>;
}

/**
 * Runs the state-model property: each run opens a fresh target, replays a random schedule of ingests (many late),
 * raw appends without the rule's field, and sweeps, and checks every answer against the recomputation.
 */
export async function checkStateModel(
  open: () => Promise<MeteringTarget>,
  numRuns: number,
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      fc.array(stepArb, { maxLength: 25 }),
      fc.array(rangeArb, { minLength: 1, maxLength: 2 }),
      async (steps, ranges) => {
        const clock = createManualClock(baseMs + 10 * 3_600_000);
        const { storage, metering, close } = await open();
        try {
          const store = createEventStore({ storage, clock, random: createSeededRandom(3) });
          const engine = createMeteringEngine({
            store,
            metering,
            clock,
            rules,
            schemas: new Map(),
            cronIntervalMs: 1000,
          });
          const model: ModelEvent[] = [];
          const check = async (): Promise<void> => {
            for (const range of ranges) {
              for (const rule of rules) {
                for (const principal of ['p0', 'p/2']) {
                  for (const granularity of granularities) {
                    const input = {
                      principalId: principal,
                      rule: rule.name,
                      start: formatUtcTimestamp(range.startMs),
                      end: formatUtcTimestamp(range.endMs),
                      granularity,
                    };
                    const response = await engine.queryState(input);
                    expect(response.values).toEqual(
                      recompute(model, rule, principal, range, granularity),
                    );
                  }
                }
              }
            }
          };
          let index = 0;
          for (const step of steps) {
            index += 1;
            if (step.kind === 'sweep') {
              await engine.sweep();
              await check();
              continue;
            }
            const { principal, type, offsetMs, value, isRaw } = step.event;
            const occurredAt = formatUtcTimestamp(baseMs + offsetMs);
            if (isRaw) {
              await store.append(`principals/${principal}`, [
                { id: `raw-${index}`, type, data: { w: value }, occurredAt },
              ]);
              model.push({ principal, type, occurredMs: baseMs + offsetMs, value: null });
            } else {
              const data = type === 'b' ? { v: value } : {};
              await engine.ingest({
                id: `e-${index}`,
                principal_id: principal,
                type,
                occurred_at: occurredAt,
                data,
              });
              model.push({
                principal,
                type,
                occurredMs: baseMs + offsetMs,
                value: type === 'b' ? parseDecimal(value) : '1',
              });
            }
          }
          await check();
          await engine.sweep();
          expect(await engine.sweep()).toBe(0);
          await check();
        } finally {
          await close();
        }
      },
    ),
    { numRuns },
  );
}
