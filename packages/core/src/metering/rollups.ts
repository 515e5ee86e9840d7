import { assert } from '../internal/assert.js';
import type { BucketDelta } from './bucket-fold.js';
import { mergeAggregate } from './bucket-fold.js';
import type { MeteringGranularity } from './buckets.js';
import { bucketWidthMs, ceilToUnit, floorToUnit } from './buckets.js';

/** One hour, the width of the finer rollup. */
export const hourRollupWidthMs = 3_600_000;

/** One UTC day, the width of the coarser rollup. */
export const dayRollupWidthMs = 86_400_000;

/**
 * The widths of the rollups a metering store keeps beside its 1-minute buckets, ascending: UTC hours and days. Each
 * rollup bucket is the merge of the 1-minute buckets inside it, so a state query over a long range reads a bounded
 * number of rows (at most 30 days, 46 hours and 118 minutes for 30 days) whatever the history's density.
 */
export const rollupWidthsMs: readonly number[] = [hourRollupWidthMs, dayRollupWidthMs];

/** What a sweep adds to one rollup bucket: a {@link BucketDelta} of a coarser width. */
export interface RollupDelta extends BucketDelta {
  /** One of {@link rollupWidthsMs}; `bucketStartMs` is a multiple of it. */
  readonly widthMs: number;
}

/**
 * The rollup deltas of a set of 1-minute deltas: each minute delta merged into its UTC hour and its UTC day, per
 * rule and principal. Stores merge them into their rollups in the same transaction as the minute deltas, so the
 * rollups always equal the merge of the minute buckets they cover.
 */
export function rollUpDeltas(deltas: readonly BucketDelta[]): RollupDelta[] {
  const rollups = new Map<string, RollupDelta>();
  for (const delta of deltas) {
    for (const widthMs of rollupWidthsMs) {
      const bucketStartMs = floorToUnit(delta.bucketStartMs, widthMs);
      const key = JSON.stringify([delta.rule, delta.principalId, widthMs, bucketStartMs]);
      const merged = mergeAggregate(delta.operator, rollups.get(key), delta);
      rollups.set(key, {
        rule: delta.rule,
        operator: delta.operator,
        principalId: delta.principalId,
        widthMs,
        bucketStartMs,
        eventCount: merged.eventCount,
        value: merged.value,
      });
    }
  }
  return [...rollups.values()];
}

/** One range read of stored buckets of one width: those with `fromMs <= bucketStartMs < toMs`. */
export interface BucketRead {
  /** {@link bucketWidthMs} for the 1-minute buckets, else one of {@link rollupWidthsMs}. */
  readonly widthMs: number;
  readonly fromMs: number;
  readonly toMs: number;
}

const granularityWidthMs: Readonly<Record<MeteringGranularity, number>> = {
  '1m': 60_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
  total: Number.POSITIVE_INFINITY,
};

/**
 * Plans the reads that cover `[fromMs, toMs)` (whole minutes) for a granularity with the coarsest stored buckets
 * that fit: a rollup is used only where it lies wholly inside the range and no wider than one window of the
 * granularity (windows are UTC-aligned, so it then falls inside one window). The reads are disjoint, in time order,
 * and together cover the range exactly.
 *
 * `rollupsFromMs` is where a store's rollups are complete (a UTC day; null: everywhere): a store upgraded from a
 * version without rollups has none for the buckets it held then, so its older ranges are read from the minutes.
 */
export function planBucketReads(
  fromMs: number,
  toMs: number,
  granularity: MeteringGranularity,
  rollupsFromMs: number | null,
): BucketRead[] {
  assert(fromMs % bucketWidthMs === 0 && toMs % bucketWidthMs === 0, 'a range is whole minutes');
  assert(
    rollupsFromMs === null || rollupsFromMs % dayRollupWidthMs === 0,
    'rollups start on a UTC day',
  );
  const widths = [
    bucketWidthMs,
    ...rollupWidthsMs.filter((width) => width <= granularityWidthMs[granularity]),
  ];
  const reads: BucketRead[] = [];
  const cover = (from: number, to: number, usable: number): void => {
    if (from >= to) return;
    const widthMs = widths[usable];
    assert(widthMs !== undefined, 'a usable width exists');
    if (usable === 0) {
      reads.push({ widthMs, fromMs: from, toMs: to });
      return;
    }
    const start = ceilToUnit(from, widthMs);
    const end = floorToUnit(to, widthMs);
    if (start >= end) {
      cover(from, to, usable - 1);
      return;
    }
    cover(from, start, usable - 1);
    reads.push({ widthMs, fromMs: start, toMs: end });
    cover(end, to, usable - 1);
  };
  const split = rollupsFromMs === null ? fromMs : Math.min(Math.max(fromMs, rollupsFromMs), toMs);
  cover(fromMs, split, 0);
  cover(split, toMs, widths.length - 1);
  return reads;
}
