import type { EventData } from '../event/event.js';
import { parseTimestamp } from '../event/validation.js';
import { assert } from '../internal/assert.js';
import { bucketStartOf } from './buckets.js';
import type { DecimalString } from './decimal.js';
import { addDecimal, maxDecimal, minDecimal } from './decimal.js';
import type { MeteringOperator, MeteringRule } from './rule-evaluation.js';
import { ruleValue } from './rule-evaluation.js';

/** The stream prefix of metering events: an event of principal `p` lives in stream `principals/p`. */
export const principalStreamPrefix = 'principals/';

/** The stream that holds a principal's metering events. */
export function principalStream(principalId: string): string {
  return principalStreamPrefix + principalId;
}

/** The principal a stream belongs to, or null for a stream outside `principals/`. */
export function principalOfStream(stream: string): string | null {
  if (!stream.startsWith(principalStreamPrefix) || stream.length === principalStreamPrefix.length)
    return null;
  return stream.slice(principalStreamPrefix.length);
}

/**
 * The fold of some events of one rule into one bucket: how many events, and their count, sum, min or max
 * (a count is its event count as a decimal). Never empty: a bucket exists only once an event lands in it.
 */
export interface BucketAggregate {
  readonly eventCount: number;
  readonly value: DecimalString;
}

/** A stored pre-aggregate: one rule's 1-minute bucket for one principal. */
export interface StoredBucket extends BucketAggregate {
  readonly bucketStartMs: number;
}

/** What a sweep adds to one pre-aggregate; stores merge it with {@link mergeAggregate}'s rules. */
export interface BucketDelta extends StoredBucket {
  readonly rule: string;
  readonly operator: MeteringOperator;
  readonly principalId: string;
}

/** Merges two folds of the same bucket: counts and sums add, min and max keep the extreme value. */
export function mergeAggregate(
  operator: MeteringOperator,
  a: BucketAggregate | undefined,
  b: BucketAggregate,
): BucketAggregate {
  if (a === undefined) return b;
  const eventCount = a.eventCount + b.eventCount;
  switch (operator) {
    case 'count':
    case 'sum':
      return { eventCount, value: addDecimal(a.value, b.value) };
    case 'min':
      return { eventCount, value: minDecimal(a.value, b.value) };
    case 'max':
      return { eventCount, value: maxDecimal(a.value, b.value) };
  }
}

/** The parts of an event a sweep folds. */
export interface FoldableEvent {
  readonly stream: string;
  readonly type: string;
  readonly occurredAt: string;
  readonly data: EventData;
}

/** What folding a page of the log produced. */
export interface SweepFold {
  readonly deltas: readonly BucketDelta[];
  /** Events that at least one rule folded. */
  readonly folded: number;
  /** (event, rule) pairs skipped because the event lacks the rule's numeric field (it predates the rule). */
  readonly skipped: number;
}

/**
 * Folds a page of the log through the rules into bucket deltas, keyed by (rule, principal, minute of `occurredAt`),
 * so that a late or out-of-order event lands in its own minute. Events outside `principals/` or of a type no rule
 * reads are ignored.
 */
export function foldSweepEvents(
  rules: readonly MeteringRule[],
  events: readonly FoldableEvent[],
): SweepFold {
  const rulesByType = new Map<string, MeteringRule[]>();
  for (const rule of rules)
    rulesByType.set(rule.sourceEvent, [...(rulesByType.get(rule.sourceEvent) ?? []), rule]);
  const deltas = new Map<string, BucketDelta>();
  let folded = 0;
  let skipped = 0;
  for (const event of events) {
    const matching = rulesByType.get(event.type);
    const principalId = principalOfStream(event.stream);
    if (matching === undefined || principalId === null) continue;
    const occurredMs = parseTimestamp(event.occurredAt);
    assert(occurredMs !== null, 'a stored metering event has a valid occurred_at');
    const bucketStartMs = bucketStartOf(occurredMs);
    let isFolded = false;
    for (const rule of matching) {
      const value = ruleValue(rule, event.data);
      if (value === null) {
        skipped += 1;
        continue;
      }
      isFolded = true;
      const key = JSON.stringify([rule.name, principalId, bucketStartMs]);
      const merged = mergeAggregate(rule.operator, deltas.get(key), { eventCount: 1, value });
      deltas.set(key, {
        rule: rule.name,
        operator: rule.operator,
        principalId,
        bucketStartMs,
        ...merged,
      });
    }
    if (isFolded) folded += 1;
  }
  return { deltas: [...deltas.values()], folded, skipped };
}
