import { assert } from '../internal/assert.js';
import { parseTimestamp } from '../event/validation.js';
import type { BucketAggregate } from './bucket-fold.js';
import { mergeAggregate } from './bucket-fold.js';
import type { MeteringGranularity, TimeWindow } from './buckets.js';
import { bucketStartOf, windowOf } from './buckets.js';
import type { StateSnapshot } from './metering-store.js';
import type { MeteringRule } from './rule-evaluation.js';
import { ruleValue } from './rule-evaluation.js';

/** One window of a state answer, before formatting: `value` is null only for an empty min/max window. */
export interface StateWindowValue extends TimeWindow {
  readonly eventCount: number;
  readonly value: string | null;
}

/**
 * Merges a snapshot's pre-aggregates with its raw tail and groups the result into windows of a granularity.
 * `total` always yields one window, the range (value `"0"` for an empty count or sum, null for an empty min or max);
 * `1m`, `1h` and `1d` yield only the non-empty windows, aligned to UTC boundaries and clipped to the range.
 */
export function computeStateWindows(
  rule: MeteringRule,
  snapshot: StateSnapshot,
  range: TimeWindow,
  granularity: MeteringGranularity,
): readonly StateWindowValue[] {
  const windows = new Map<number, { window: TimeWindow; aggregate: BucketAggregate }>();
  const add = (bucketStartMs: number, aggregate: BucketAggregate): void => {
    if (bucketStartMs < range.startMs || bucketStartMs >= range.endMs) return;
    const window = windowOf(bucketStartMs, granularity, range);
    const entry = windows.get(window.startMs);
    windows.set(window.startMs, {
      window,
      aggregate: mergeAggregate(rule.operator, entry?.aggregate, aggregate),
    });
  };
  for (const bucket of snapshot.buckets) add(bucket.bucketStartMs, bucket);
  for (const event of snapshot.tail) {
    const occurredMs = parseTimestamp(event.occurredAt);
    assert(occurredMs !== null, 'a stored metering event has a valid occurred_at');
    const value = ruleValue(rule, event.data);
    if (value !== null) add(bucketStartOf(occurredMs), { eventCount: 1, value });
  }
  if (granularity === 'total' && windows.size === 0) {
    const empty = rule.operator === 'count' || rule.operator === 'sum' ? '0' : null;
    return [{ ...range, eventCount: 0, value: empty }];
  }
  return [...windows.values()]
    .sort((a, b) => a.window.startMs - b.window.startMs)
    .map(({ window, aggregate }) => ({
      ...window,
      eventCount: aggregate.eventCount,
      value: aggregate.value,
    }));
}
