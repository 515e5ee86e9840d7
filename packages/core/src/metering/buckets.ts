import { assert } from '../internal/assert.js';

/** The width of a metering bucket: fixed at one minute (the seed's MVP; `window_size` is not configurable). */
export const bucketWidthMs = 60_000;

/** The query granularities of the metering read path. */
export type MeteringGranularity = 'total' | '1m' | '1h' | '1d';

/** Every {@link MeteringGranularity}, in increasing window width. */
export const meteringGranularities: readonly MeteringGranularity[] = ['1m', '1h', '1d', 'total'];

const unitMsByGranularity: Readonly<Record<Exclude<MeteringGranularity, 'total'>, number>> = {
  '1m': 60_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
};

/** Floors epoch milliseconds to a multiple of `unitMs` (UTC: epoch time has no leap seconds or zones). */
export function floorToUnit(epochMs: number, unitMs: number): number {
  assert(Number.isSafeInteger(epochMs), 'a time is an integer number of milliseconds');
  assert(Number.isSafeInteger(unitMs) && unitMs > 0, 'a unit is a positive integer');
  return Math.floor(epochMs / unitMs) * unitMs;
}

/** Ceils epoch milliseconds to a multiple of `unitMs`. */
export function ceilToUnit(epochMs: number, unitMs: number): number {
  const floor = floorToUnit(epochMs, unitMs);
  return floor === epochMs ? floor : floor + unitMs;
}

/** The start of the 1-minute bucket holding `epochMs`. */
export function bucketStartOf(epochMs: number): number {
  return floorToUnit(epochMs, bucketWidthMs);
}

/** A half-open window `[startMs, endMs)`. */
export interface TimeWindow {
  readonly startMs: number;
  readonly endMs: number;
}

/**
 * The window of a granularity that holds a bucket, clipped to the queried range `[range.startMs, range.endMs)`.
 * `total` has one window, the range itself; `1m`, `1h` and `1d` windows are aligned to UTC minute, hour and day
 * boundaries.
 */
export function windowOf(
  bucketStartMs: number,
  granularity: MeteringGranularity,
  range: TimeWindow,
): TimeWindow {
  assert(range.startMs < range.endMs, 'a range is not empty');
  if (granularity === 'total') return range;
  const unitMs = unitMsByGranularity[granularity];
  const startMs = floorToUnit(bucketStartMs, unitMs);
  return {
    startMs: Math.max(startMs, range.startMs),
    endMs: Math.min(startMs + unitMs, range.endMs),
  };
}

/**
 * Formats epoch milliseconds as RFC 3339 UTC, without the fraction when it is a whole second
 * (`2026-02-11T10:00:00Z`, `2026-02-11T10:00:00.250Z`), as the state API renders times.
 */
export function formatUtcTimestamp(epochMs: number): string {
  const iso = new Date(epochMs).toISOString();
  assert(iso.endsWith('Z'), 'an ISO string is in UTC');
  return epochMs % 1000 === 0 ? `${iso.slice(0, -5)}Z` : iso;
}
