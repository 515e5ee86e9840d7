import type { AbortSignalLike, AppendWaiter, GlobalPosition, SubscriptionStart } from '@aevon/core';
import { assert, invalidRequest, namedSubscriptionFilterValuesMax } from '@aevon/core';
import type { AggregateStore, RowChange, Value } from '@aevon/ddl';
import type { DefinitionsEngine } from './definitions.js';
import { parseStart } from './subscriptions.js';

/** Row changes per read of an aggregate change feed: it holds at most about one such page in memory. */
export const aggregateChangesPageMax = 500;
/** Keys one aggregate change feed may filter on. */
export const aggregateChangeKeysMax = namedSubscriptionFilterValuesMax;

/** What an aggregate change feed yields, in log order. */
export type AggregateChangeMessage =
  /** One row change; `isEventEnd` on the last change of its event (a safe place to resume after). */
  | { readonly kind: 'change'; readonly change: RowChange; readonly isEventEnd: boolean }
  /** Every change up to `position` was considered (the last ones were filtered out). */
  | { readonly kind: 'checkpoint'; readonly position: GlobalPosition }
  /** Once, when the history is delivered. */
  | { readonly kind: 'live'; readonly position: GlobalPosition | null };

/** An aggregate change feed request as it arrives over HTTP, unvalidated. */
export interface AggregateChangeRequest {
  readonly aggregate: string;
  /** `start`, `end` (the default) or a position to resume after. */
  readonly from?: unknown;
  /** Primary keys (as text) whose changes to deliver; one string or a list; all when absent. */
  readonly keys?: unknown;
}

/** The log reads the feed needs besides the store: where the log ends now. */
export interface LogHead {
  headPosition(): Promise<GlobalPosition | null>;
}

/**
 * Opens the change feed of one aggregate table (issue 7): the row changes (before/after) the typed events made, in log
 * order, from a position (catch-up), then live as typed writes commit, with no gap and no duplicate at the switch —
 * built as core's `subscribe` builds event subscriptions: every read goes through the store's ordered change log, and
 * wake-ups are hints. The request is validated first, so a bad one fails here.
 * @throws AEV_NOT_FOUND for an unknown aggregate; AEV_REQUEST_INVALID for a bad `from` or key.
 */
export async function openAggregateChanges(
  definitions: DefinitionsEngine,
  log: LogHead,
  waiter: AppendWaiter,
  request: AggregateChangeRequest,
  signal: AbortSignalLike,
): Promise<AsyncIterable<AggregateChangeMessage>> {
  const from = parseStart(request.from);
  await definitions.requireAggregate(request.aggregate);
  const keys = new Set<string>();
  for (const text of keyList(request.keys)) {
    keys.add(canonical(await definitions.parseKey(request.aggregate, text, 'key')));
  }
  return subscribeToChanges({
    store: definitions.store,
    log,
    aggregate: request.aggregate,
    keys: keys.size === 0 ? null : keys,
    from,
    waiter,
    signal,
    pageChanges: aggregateChangesPageMax,
  });
}

/** Options of {@link subscribeToChanges}. */
export interface SubscribeToChangesOptions {
  readonly store: Pick<AggregateStore, 'readChanges'>;
  readonly log: LogHead;
  readonly aggregate: string;
  /** Canonical JSON of the keys to deliver; null for all. */
  readonly keys: ReadonlySet<string> | null;
  readonly from: SubscriptionStart;
  readonly waiter: AppendWaiter;
  readonly signal: AbortSignalLike;
  readonly pageChanges: number;
}

/**
 * The catch-up-then-live loop over `readChanges`: it reads pages after the last position until a read comes back
 * empty (caught up: a store may return a page shorter than its limit before the end, as PostgreSQL does to keep
 * events whole), then waits for a wake-up. Stores return an event's changes whole within a page (the DDL lets an event
 * change at most one row of an aggregate, so a one-aggregate page cannot split one anyway); the position moves to an
 * event's position after its last change, the only place a client may resume after.
 */
export async function* subscribeToChanges(
  options: SubscribeToChangesOptions,
): AsyncGenerator<AggregateChangeMessage> {
  const { store, aggregate, keys, waiter, signal, pageChanges } = options;
  assert(Number.isSafeInteger(pageChanges) && pageChanges > 0, 'pageChanges is positive');
  let position: GlobalPosition | null =
    options.from === 'start'
      ? null
      : options.from === 'end'
        ? await options.log.headPosition()
        : options.from.after;
  let isLive = false;
  let skipped = 0;
  while (!signal.aborted) {
    // Read the sequence before the log, so that a commit between the two wakes the wait below.
    const seen = waiter.sequence();
    const page = await store.readChanges({
      after: position,
      limit: pageChanges,
      aggregates: [aggregate],
    });
    for (const [index, change] of page.entries()) {
      if (signal.aborted) return;
      assert(position === null || change.position > position, 'a change feed moves forward');
      const next = page[index + 1];
      const isEventEnd = next === undefined || next.position !== change.position;
      if (isEventEnd) position = change.position;
      if (keys !== null && !keys.has(canonical(change.key))) {
        skipped += 1;
        continue;
      }
      skipped = 0;
      yield { kind: 'change', change, isEventEnd };
    }
    const isCaughtUp = page.length === 0;
    if (position !== null && skipped > 0 && (isCaughtUp || skipped >= pageChanges)) {
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

function canonical(key: Value): string {
  return JSON.stringify(key);
}

function keyList(value: unknown): readonly string[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  if (list.length > aggregateChangeKeysMax) {
    throw invalidRequest(`at most ${aggregateChangeKeysMax} keys`, 'key');
  }
  return list.map((item) => {
    if (typeof item !== 'string' || item.length === 0) {
      throw invalidRequest('a key is a non-empty string', 'key');
    }
    return item;
  });
}
