import type { GlobalPosition, Range, StreamRevision } from '@aevon/core';
import { formatSequencePosition } from '@aevon/core';

/** The largest value an SQLite INTEGER holds; bounds are clamped to it so that binding never overflows. */
export const int64Max = 9223372036854775807n;

/** Inclusive integer bounds for an SQL `BETWEEN`; null when the range holds no value at all. */
export interface IntegerBounds {
  readonly low: bigint;
  readonly high: bigint;
}

const clamp = (low: bigint, high: bigint): IntegerBounds | null => {
  const lowClamped = low < 0n ? 0n : low;
  const highClamped = high > int64Max ? int64Max : high;
  return lowClamped > highClamped ? null : { low: lowClamped, high: highClamped };
};

/** Turns a revision range (inclusive or exclusive ends) into inclusive integer bounds. */
export function revisionBounds(range: Range<StreamRevision>): IntegerBounds | null {
  const low = range.start === null ? 0n : range.start + (range.startExclusive ? 1n : 0n);
  const high = range.end === null ? int64Max : range.end - (range.endExclusive ? 1n : 0n);
  return clamp(low, high);
}

const fixedWidthPosition = /^[0-9]{20}$/;

/**
 * The smallest rowid whose position string is above `bound` (`strict`) or at or above it; `int64Max + 1` when none.
 * Positions are opaque strings compared lexicographically, so a bound need not be one this engine produced: the
 * answer is then found by binary search over the (monotonic) formatting, exactly as string comparison would.
 */
function firstRowidFrom(bound: string, strict: boolean): bigint {
  if (fixedWidthPosition.test(bound)) return BigInt(bound) + (strict ? 1n : 0n);
  let low = 0n;
  let high = int64Max + 1n;
  while (low < high) {
    const middle = (low + high) / 2n;
    const formatted = formatSequencePosition(middle);
    if (strict ? formatted > bound : formatted >= bound) high = middle;
    else low = middle + 1n;
  }
  return low;
}

/** Turns a position range into inclusive rowid bounds, with the same result as comparing position strings. */
export function positionBounds(range: Range<GlobalPosition>): IntegerBounds | null {
  const low = range.start === null ? 0n : firstRowidFrom(range.start, range.startExclusive);
  const high = range.end === null ? int64Max : firstRowidFrom(range.end, !range.endExclusive) - 1n;
  return clamp(low, high);
}
