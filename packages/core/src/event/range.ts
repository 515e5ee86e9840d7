import { invalidRequest } from '../errors/aevon-error.js';
import { AevonError } from '../errors/aevon-error.js';
import type { Limits } from '../limits.js';

/** Read direction: `forward` is log order, `backward` its reverse. */
export type Direction = 'forward' | 'backward';

/**
 * A range to read, as in Aeon's `RangeInput`. `start` and `end` bound the range in log order whatever the direction
 * (`start <= end`); both are inclusive unless the matching `...Exclusive` flag is set. `direction` says which end
 * is read first, and `limit` how many events at most are returned from that end.
 */
export interface RangeInput<P> {
  readonly start?: P;
  readonly startExclusive?: boolean;
  readonly end?: P;
  readonly endExclusive?: boolean;
  /** Default and maximum: `limits.readPageEventsMax`. */
  readonly limit?: number;
  /** Default: `forward`. */
  readonly direction?: Direction;
}

/** A checked range with every default applied, as a {@link Storage} receives it. */
export interface Range<P> {
  readonly start: P | null;
  readonly startExclusive: boolean;
  readonly end: P | null;
  readonly endExclusive: boolean;
  readonly limit: number;
  readonly direction: Direction;
}

/**
 * Applies defaults and checks a range.
 * @throws AEV_REQUEST_INVALID for a bad limit or direction; AEV_READ_LIMIT_TOO_LARGE above the page maximum.
 */
export function normalizeRange<P>(input: RangeInput<P> | undefined, limits: Limits): Range<P> {
  const limit = input?.limit ?? limits.readPageEventsMax;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw invalidRequest('limit must be a positive integer', 'limit');
  }
  if (limit > limits.readPageEventsMax) {
    throw new AevonError('AEV_READ_LIMIT_TOO_LARGE', { limit, max: limits.readPageEventsMax });
  }
  const direction = input?.direction ?? 'forward';
  if (direction !== 'forward' && direction !== 'backward') {
    throw invalidRequest('direction must be "forward" or "backward"', 'direction');
  }
  return {
    start: input?.start ?? null,
    startExclusive: input?.startExclusive ?? false,
    end: input?.end ?? null,
    endExclusive: input?.endExclusive ?? false,
    limit,
    direction,
  };
}

/** True when `value` lies inside the range's bounds (ignoring limit and direction). */
export function inRange<P extends bigint | string>(value: P, range: Range<P>): boolean {
  if (range.start !== null) {
    if (range.startExclusive ? value <= range.start : value < range.start) return false;
  }
  if (range.end !== null) {
    if (range.endExclusive ? value >= range.end : value > range.end) return false;
  }
  return true;
}

/**
 * Selects from `sorted` (ascending by `key`) the events a range returns, in the range's direction.
 * Used by the in-memory storage and as the reference model in tests.
 */
export function selectRange<T, P extends bigint | string>(
  sorted: readonly T[],
  key: (item: T) => P,
  range: Range<P>,
): T[] {
  const selected: T[] = [];
  const forward = range.direction === 'forward';
  const count = sorted.length;
  for (let step = 0; step < count && selected.length < range.limit; step += 1) {
    const item = sorted[forward ? step : count - 1 - step] as T;
    if (inRange(key(item), range)) selected.push(item);
  }
  return selected;
}
