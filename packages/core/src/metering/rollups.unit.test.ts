// Goal: the read plan covers a state range exactly with the coarsest buckets a granularity allows, never a rollup
// that straddles a window or the range, and never a rollup below where a store's rollups are complete; and the
// rollup deltas of a sweep are the merge of its minute deltas. Method: examples for the shapes, fast-check for the
// covering properties over random ranges, granularities and coverage days.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BucketDelta } from './bucket-fold.js';
import { mergeAggregate } from './bucket-fold.js';
import type { MeteringGranularity } from './buckets.js';
import type { BucketRead } from './rollups.js';
import { dayRollupWidthMs, hourRollupWidthMs, planBucketReads, rollUpDeltas } from './rollups.js';

const minute = 60_000;
const hour = hourRollupWidthMs;
const day = dayRollupWidthMs;
const t0 = Date.UTC(2026, 0, 1);

function covered(reads: readonly BucketRead[]): number {
  return reads.reduce((sum, read) => sum + (read.toMs - read.fromMs), 0);
}

describe('planBucketReads', () => {
  it('reads a 30-day total as whole days plus the ragged hours and minutes at both ends', () => {
    const from = t0 + 5 * hour + 7 * minute;
    const to = from + 30 * day;
    const reads = planBucketReads(from, to, 'total', null);
    expect(reads).toEqual([
      { widthMs: minute, fromMs: from, toMs: t0 + 6 * hour },
      { widthMs: hour, fromMs: t0 + 6 * hour, toMs: t0 + day },
      { widthMs: day, fromMs: t0 + day, toMs: t0 + 30 * day },
      { widthMs: hour, fromMs: t0 + 30 * day, toMs: t0 + 30 * day + 5 * hour },
      { widthMs: minute, fromMs: t0 + 30 * day + 5 * hour, toMs: to },
    ]);
  });

  it('uses no rollup wider than one window of the granularity', () => {
    const reads = planBucketReads(t0, t0 + 3 * day, '1h', null);
    expect(reads).toEqual([{ widthMs: hour, fromMs: t0, toMs: t0 + 3 * day }]);
    expect(planBucketReads(t0, t0 + 3 * day, '1m', null)).toEqual([
      { widthMs: minute, fromMs: t0, toMs: t0 + 3 * day },
    ]);
    expect(planBucketReads(t0, t0 + 3 * day, '1d', null)).toEqual([
      { widthMs: day, fromMs: t0, toMs: t0 + 3 * day },
    ]);
  });

  it('reads the minutes below the day a store’s rollups start, and rollups from it', () => {
    const reads = planBucketReads(t0, t0 + 4 * day, 'total', t0 + 2 * day);
    expect(reads).toEqual([
      { widthMs: minute, fromMs: t0, toMs: t0 + 2 * day },
      { widthMs: day, fromMs: t0 + 2 * day, toMs: t0 + 4 * day },
    ]);
    expect(planBucketReads(t0, t0 + hour, 'total', t0 + 2 * day)).toEqual([
      { widthMs: minute, fromMs: t0, toMs: t0 + hour },
    ]);
  });

  it('covers any range exactly, in order, with reads aligned to their width and allowed by the granularity', () => {
    const granularities: MeteringGranularity[] = ['total', '1m', '1h', '1d'];
    const windowMs = { total: Infinity, '1m': minute, '1h': hour, '1d': day };
    fc.assert(
      fc.property(
        fc.integer({ min: -200 * 24 * 60, max: 200 * 24 * 60 }),
        fc.integer({ min: 1, max: 100 * 24 * 60 }),
        fc.constantFrom(...granularities),
        fc.option(fc.integer({ min: -200, max: 200 }), { nil: null }),
        (startMinute, lengthMinutes, granularity, coverageDay) => {
          const from = t0 + startMinute * minute;
          const to = from + lengthMinutes * minute;
          const rollupsFrom = coverageDay === null ? null : t0 + coverageDay * day;
          const reads = planBucketReads(from, to, granularity, rollupsFrom);
          expect(covered(reads)).toBe(to - from);
          let at = from;
          for (const read of reads) {
            expect(read.fromMs).toBe(at);
            expect(read.toMs).toBeGreaterThan(read.fromMs);
            expect(read.fromMs % read.widthMs).toBe(0);
            expect(read.toMs % read.widthMs).toBe(0);
            expect(read.widthMs).toBeLessThanOrEqual(windowMs[granularity]);
            if (read.widthMs > minute && rollupsFrom !== null)
              expect(read.fromMs).toBeGreaterThanOrEqual(rollupsFrom);
            at = read.toMs;
          }
          expect(at).toBe(to);
          // Bounded whatever the range's length: at most 2 x 23 hours and 2 x 59 minutes besides the days.
          if (rollupsFrom === null && granularity === 'total') {
            const days = reads.filter((read) => read.widthMs === day);
            expect(days.length).toBeLessThanOrEqual(1);
            expect(reads.length).toBeLessThanOrEqual(5);
          }
        },
      ),
    );
  });
});

describe('rollUpDeltas', () => {
  it('merges minute deltas into their UTC hour and day, per rule and principal', () => {
    const delta = (
      rule: string,
      principalId: string,
      bucketStartMs: number,
      value: string,
    ): BucketDelta => ({
      rule,
      operator: rule === 'high' ? 'max' : 'sum',
      principalId,
      bucketStartMs,
      eventCount: 1,
      value,
    });
    const deltas = [
      delta('total', 'p', t0 + 5 * minute, '2'),
      delta('total', 'p', t0 + 50 * minute, '3'),
      delta('total', 'p', t0 + hour, '4'),
      delta('total', 'q', t0, '1'),
      delta('high', 'p', t0, '7'),
      delta('high', 'p', t0 + 2 * hour, '9'),
    ];
    const rollups = rollUpDeltas(deltas);
    const find = (rule: string, principalId: string, widthMs: number, start: number) =>
      rollups.find(
        (r) =>
          r.rule === rule &&
          r.principalId === principalId &&
          r.widthMs === widthMs &&
          r.bucketStartMs === start,
      );
    expect(find('total', 'p', hour, t0)).toMatchObject({ eventCount: 2, value: '5' });
    expect(find('total', 'p', hour, t0 + hour)).toMatchObject({ eventCount: 1, value: '4' });
    expect(find('total', 'p', day, t0)).toMatchObject({ eventCount: 3, value: '9' });
    expect(find('total', 'q', day, t0)).toMatchObject({ eventCount: 1, value: '1' });
    expect(find('high', 'p', day, t0)).toMatchObject({ eventCount: 2, value: '9' });
    expect(rollups).toHaveLength(8);
  });

  it('gives each rollup the merge of exactly the minute deltas inside it', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            minute: fc.integer({ min: -3 * 24 * 60, max: 3 * 24 * 60 }),
            value: fc.integer({ min: -50, max: 50 }),
            operator: fc.constantFrom('sum' as const, 'min' as const),
          }),
          { maxLength: 60 },
        ),
        (inputs) => {
          const deltas: BucketDelta[] = inputs.map((input) => ({
            rule: input.operator,
            operator: input.operator,
            principalId: 'p',
            bucketStartMs: t0 + input.minute * minute,
            eventCount: 1,
            value: String(input.value),
          }));
          for (const rollup of rollUpDeltas(deltas)) {
            const inside = deltas.filter(
              (d) =>
                d.rule === rollup.rule &&
                d.bucketStartMs >= rollup.bucketStartMs &&
                d.bucketStartMs < rollup.bucketStartMs + rollup.widthMs,
            );
            let expected: ReturnType<typeof mergeAggregate> | undefined;
            for (const d of inside) expected = mergeAggregate(d.operator, expected, d);
            expect(rollup).toMatchObject({
              eventCount: expected?.eventCount,
              value: expected?.value,
            });
          }
        },
      ),
    );
  });
});
