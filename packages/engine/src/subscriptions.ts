import type {
  AppendWaiter,
  CommitSignal,
  EventStore,
  NamedSubscriptionFilter,
  StreamMatcher,
  SubscriptionFilter,
  SubscriptionMessage,
  SubscriptionStart,
} from '@aevon/core';
import {
  asGlobalPosition,
  compileStreamPattern,
  invalidRequest,
  namedSubscriptionFilterValueLengthMax,
  namedSubscriptionFilterValuesMax,
  principalStream,
  subscribe,
} from '@aevon/core';
import { clearTimeout, setTimeout as startTimer } from 'node:timers';

/** Default poll interval of a live subscription with no in-process wake-up: 250 ms. */
export const subscriptionPollMsDefault = 250;
/** Events per log read of a subscription: it holds at most one such page in memory. */
export const subscriptionPageEvents = 500;
/** Stream patterns, event types and principals one subscription may name, each. */
export const subscriptionFilterValuesMax = namedSubscriptionFilterValuesMax;

/** A subscription request as it arrives over HTTP (query parameters), unvalidated. */
export interface SubscriptionRequest {
  /** `start`, `end` (the default) or a position to resume after. */
  readonly from?: unknown;
  /** Stream path patterns (`/accounts/*`, `/accounts/**`); one string or a list. */
  readonly streams?: unknown;
  /** Event types; one string or a list. */
  readonly types?: unknown;
  /** Metering principals: their `principals/<id>` streams, matched exactly; one string or a list. */
  readonly principals?: unknown;
}

/**
 * An {@link AppendWaiter} on an event store's commit signal and any further wake sources: wakes at once on an append
 * committed in this process, or when a wake source moves (on PostgreSQL, a NOTIFY from another process's append),
 * else after `pollMs` (appends nobody announced, and events still behind PostgreSQL's read watermark). Wake sources
 * are hints only: the subscription always reads the ordered log, and the poll stays as the safety net.
 */
export function createAppendWaiter(
  commits: CommitSignal,
  pollMs: number,
  wakeSources: readonly CommitSignal[] = [],
): AppendWaiter {
  const signals = [commits, ...wakeSources];
  // One counter over every source: a wake-up between the subscription's read of the sequence and its wait still
  // counts, whichever source it came from.
  const sequence = (): number => signals.reduce((sum, signal) => sum + signal.sequence(), 0);
  return {
    sequence,
    waitBeyond: (seen, signal) =>
      new Promise<void>((resolve) => {
        if (sequence() > seen || signal.aborted) {
          resolve();
          return;
        }
        const done = (): void => {
          for (const remove of removers) remove();
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const removers = signals.map((source) => source.onCommit(done));
        const timer = startTimer(done, pollMs);
        signal.addEventListener('abort', done, { once: true });
      }),
  };
}

/**
 * Validates a subscription request and opens it on the log: the start position is checked with a first read, so a
 * bad one fails here (a 400) rather than in the middle of a stream.
 * @throws AEV_REQUEST_INVALID for a bad `from`, pattern, type or principal, or too many of them.
 */
export async function openSubscription(
  store: EventStore,
  waiter: AppendWaiter,
  request: SubscriptionRequest,
  signal: AbortSignal,
): Promise<AsyncIterable<SubscriptionMessage>> {
  const from = parseStart(request.from);
  const filter = compileFilter(parseFilter(request));
  if (typeof from === 'object') {
    await store.readAllPage({ start: from.after, startExclusive: true, limit: 1 });
  }
  return subscribeOnStore(store, waiter, { from, filter, signal });
}

/** Core's {@link subscribe} on an event store, with the engine's page size. */
export function subscribeOnStore(
  store: EventStore,
  waiter: AppendWaiter,
  options: {
    readonly from: SubscriptionStart;
    readonly filter: SubscriptionFilter;
    readonly signal: AbortSignal;
  },
): AsyncGenerator<SubscriptionMessage> {
  return subscribe({
    log: store,
    from: options.from,
    filter: options.filter,
    waiter,
    signal: options.signal,
    pageEvents: Math.min(subscriptionPageEvents, store.limits.readPageEventsMax),
  });
}

/**
 * Validates the filter fields of a subscription request into the stored form of a named subscription: each pattern
 * compiles, each principal is a principal id.
 * @throws AEV_REQUEST_INVALID (field `stream`, `type` or `principal`).
 */
export function parseFilter(request: SubscriptionRequest): NamedSubscriptionFilter {
  const filter = {
    streams: stringList(request.streams, 'stream'),
    types: stringList(request.types, 'type'),
    principals: stringList(request.principals, 'principal'),
  };
  compileFilter(filter);
  return filter;
}

/** The matcher form of a validated filter: an empty list puts no condition on its field. */
export function compileFilter(filter: NamedSubscriptionFilter): SubscriptionFilter {
  const streams: StreamMatcher[] = [];
  for (const pattern of filter.streams) streams.push(compileStreamPattern(pattern));
  for (const principal of filter.principals) {
    const stream = principalStream(principal);
    streams.push((candidate) => candidate === stream);
  }
  return {
    ...(streams.length === 0 ? {} : { streams }),
    ...(filter.types.length === 0 ? {} : { types: new Set(filter.types) }),
  };
}

// Positions of the SQLite and in-memory logs (20 digits) and of PostgreSQL (20 digits, '-', 20 digits); the engine
// checks the rest with a first read.
const positionPattern = /^\d{20}(-\d{20})?$/;

/** True when `value` has the form of a log position (whether the log holds it is for a read to tell). */
export function isPositionText(value: unknown): value is string {
  return typeof value === 'string' && positionPattern.test(value);
}

/**
 * Parses a start position: `start`, `end` (also when absent) or a position of the log's form.
 * @throws AEV_REQUEST_INVALID (field `from`).
 */
export function parseStart(from: unknown): SubscriptionStart {
  if (from === undefined || from === 'end') return 'end';
  if (from === 'start') return 'start';
  if (typeof from === 'string' && positionPattern.test(from)) {
    return { after: asGlobalPosition(from) };
  }
  throw invalidRequest('must be start, end, or a position from an earlier subscription', 'from');
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  if (list.length > subscriptionFilterValuesMax) {
    throw invalidRequest(`at most ${subscriptionFilterValuesMax} values`, field);
  }
  return list.map((item) => {
    if (
      typeof item !== 'string' ||
      item.length === 0 ||
      item.length > namedSubscriptionFilterValueLengthMax
    ) {
      throw invalidRequest(
        `must be a non-empty string of at most ${namedSubscriptionFilterValueLengthMax} characters`,
        field,
      );
    }
    return item;
  });
}
