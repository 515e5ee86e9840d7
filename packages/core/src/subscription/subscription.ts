import type { GlobalPosition, RecordedEvent } from '../event/event.js';
import type { RangeInput } from '../event/range.js';
import { assert } from '../internal/assert.js';
import type { StreamMatcher } from './stream-pattern.js';

/**
 * The part of the web platform's `AbortSignal` a subscription uses (core is typed without DOM or Node libraries;
 * pass an `AbortController`'s signal).
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** Where a subscription starts: the log's beginning, its end (only new events), or after a kept position. */
export type SubscriptionStart = 'start' | 'end' | { readonly after: GlobalPosition };

/** Which events a subscription delivers; every given condition must hold. Empty lists select nothing. */
export interface SubscriptionFilter {
  /** The event's stream matches one of these. */
  readonly streams?: readonly StreamMatcher[];
  /** The event's type is one of these. */
  readonly types?: ReadonlySet<string>;
}

/** What a subscription yields, in log order. */
export type SubscriptionMessage =
  | { readonly kind: 'event'; readonly event: RecordedEvent }
  /**
   * Every event up to `position` has been considered (the last ones were filtered out): keep it as the resume point,
   * so that a sparse filter does not rescan them.
   */
  | { readonly kind: 'checkpoint'; readonly position: GlobalPosition }
  /** Once, when the history is delivered: from here on events arrive as they are committed. */
  | { readonly kind: 'live'; readonly position: GlobalPosition | null };

/**
 * Tells a subscription when to read again: appends committed in this process bump `sequence()`; `waitBeyond(seen)`
 * resolves once it moved past `seen`, or after a poll interval (appends of other processes, and on PostgreSQL
 * events still behind the read watermark), or when `signal` aborts.
 */
export interface AppendWaiter {
  sequence(): number;
  waitBeyond(seen: number, signal: AbortSignalLike): Promise<void>;
}

/** The log reads a subscription needs (an {@link EventStore} has them). */
export interface SubscriptionLog {
  readAllPage(range?: RangeInput<GlobalPosition>): Promise<readonly RecordedEvent[]>;
  headPosition(): Promise<GlobalPosition | null>;
}

/** Options of {@link subscribe}. */
export interface SubscribeOptions {
  readonly log: SubscriptionLog;
  readonly from: SubscriptionStart;
  readonly filter?: SubscriptionFilter;
  readonly waiter: AppendWaiter;
  /** Ends the subscription: the iteration returns at its next step. */
  readonly signal: AbortSignalLike;
  /** Events per log read; the subscription never holds more than one page. */
  readonly pageEvents: number;
  /** Filtered-out events after which a checkpoint is reported even mid-history. Default: `pageEvents`. */
  readonly checkpointEveryEvents?: number;
}

/**
 * A catch-up subscription on the global log: reads the history page by page after the start, reports `live` once it
 * reaches the head, then keeps reading as new events are committed. Every read goes through the ordered log (on
 * PostgreSQL, below the read watermark), so the switch from history to live has no gap and no duplicate, and wake-ups
 * are only hints. The consumer pulls: a slow consumer makes the subscription read later, never buffer more than one
 * page (backpressure by construction).
 */
export async function* subscribe(options: SubscribeOptions): AsyncGenerator<SubscriptionMessage> {
  const { log, filter, waiter, signal, pageEvents } = options;
  assert(Number.isSafeInteger(pageEvents) && pageEvents > 0, 'pageEvents is a positive integer');
  const checkpointEvery = options.checkpointEveryEvents ?? pageEvents;
  let position = await startPosition(log, options.from);
  let isLive = false;
  let skipped = 0;
  while (!signal.aborted) {
    // Read the sequence before the log, so that an append committed between the two wakes the wait below.
    const seen = waiter.sequence();
    const range: RangeInput<GlobalPosition> =
      position === null
        ? { limit: pageEvents }
        : { start: position, startExclusive: true, limit: pageEvents };
    const page = await log.readAllPage(range);
    for (const event of page) {
      if (signal.aborted) return;
      assert(position === null || event.position > position, 'a subscription moves forward');
      position = event.position;
      if (!matches(filter, event)) {
        skipped += 1;
        continue;
      }
      skipped = 0;
      yield { kind: 'event', event };
    }
    const isCaughtUp = page.length < pageEvents;
    if (position !== null && skipped > 0 && (isCaughtUp || skipped >= checkpointEvery)) {
      skipped = 0;
      yield { kind: 'checkpoint', position };
    }
    if (!isCaughtUp) continue;
    if (!isLive) {
      isLive = true;
      yield { kind: 'live', position };
    }
    if (!signal.aborted) await waiter.waitBeyond(seen, signal);
  }
}

async function startPosition(
  log: SubscriptionLog,
  from: SubscriptionStart,
): Promise<GlobalPosition | null> {
  if (from === 'start') return null;
  if (from === 'end') return log.headPosition();
  return from.after;
}

/** True when an event passes a subscription filter. */
export function matches(filter: SubscriptionFilter | undefined, event: RecordedEvent): boolean {
  if (filter === undefined) return true;
  if (filter.types !== undefined && !filter.types.has(event.type)) return false;
  if (filter.streams !== undefined && !filter.streams.some((match) => match(event.stream)))
    return false;
  return true;
}
