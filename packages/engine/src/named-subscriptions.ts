import type {
  AppendWaiter,
  Clock,
  EventStore,
  GlobalPosition,
  NamedSubscriptionFilter,
  NamedSubscriptionRecord,
  NamedSubscriptionStore,
  SubscriptionFilter,
  SubscriptionMessage,
} from '@aevon/core';
import {
  AevonError,
  asGlobalPosition,
  assert,
  formatTimestamp,
  invalidRequest,
  matchesSubscriptionFilter,
  parseNamedSubscriptionName,
  parseTimestamp,
} from '@aevon/core';
import {
  compileFilter,
  isPositionText,
  parseFilter,
  parseStart,
  subscribeOnStore,
  subscriptionPageEvents,
} from './subscriptions.js';

/**
 * Log events after a checkpoint that a status reads at most to count the lag: beyond it `lag_events` is a lower
 * bound (`isLagExact: false`), so that the status of a far-behind subscription costs a bounded read.
 */
export const namedSubscriptionLagScanEventsMax = 10_000;

/** What the named subscription functions work on: the log, the store of definitions, wake-ups and time. */
export interface NamedSubscriptionContext {
  readonly store: EventStore;
  readonly subscriptions: NamedSubscriptionStore;
  readonly waiter: AppendWaiter;
  readonly clock: Clock;
  /** Log events a status scans at most after a checkpoint. Default: {@link namedSubscriptionLagScanEventsMax}. */
  readonly lagScanEventsMax?: number;
}

/** A named subscription with how far behind the log its checkpoint is. */
export interface NamedSubscriptionStatus {
  readonly record: NamedSubscriptionRecord;
  /** The log's last position now (null for an empty log). */
  readonly headPosition: GlobalPosition | null;
  /**
   * Events after the checkpoint that pass the filter: exact when `isLagExact`, else a lower bound (the count within
   * the first {@link namedSubscriptionLagScanEventsMax} log events after the checkpoint).
   */
  readonly lagEvents: number;
  readonly isLagExact: boolean;
  /**
   * Seconds from the `recorded_at` of the first unacknowledged event that passes the filter to now (millisecond
   * precision); 0 when there is none. When the scan ends before finding one, it is measured from the first event
   * not scanned, an upper bound.
   */
  readonly lagSeconds: number;
}

/** A named subscription opened in process: its messages from the checkpoint, and `ack` to move it. */
export interface NamedSubscriptionHandle {
  /** The definition as it was when opened. */
  readonly record: NamedSubscriptionRecord;
  /** History after the start, then live (see core's `subscribe`); ends when the signal aborts. */
  readonly messages: AsyncIterable<SubscriptionMessage>;
  /**
   * Stores `position` (of an event or checkpoint message) as the checkpoint, forward only.
   * @throws AEV_NOT_FOUND when the subscription was deleted meanwhile; AEV_REQUEST_INVALID for a position the log
   *   does not hold.
   */
  ack(position: string): Promise<NamedSubscriptionRecord>;
}

/** The named subscriptions of one engine (docs/reference/http.md, "Named subscriptions"). */
export interface NamedSubscriptions {
  /**
   * Creates or updates a subscription from a request body `{ filter?: { streams?, types?, principals? }, from? }`.
   * Without `from`, a new subscription starts at the log's end and an existing one keeps its checkpoint; with it,
   * the checkpoint is set to `start`, `end` or a position the log holds.
   * @throws AEV_REQUEST_INVALID.
   */
  put(
    name: unknown,
    body: unknown,
  ): Promise<{ readonly record: NamedSubscriptionRecord; readonly isCreated: boolean }>;
  /** The subscription with its lag. @throws AEV_NOT_FOUND, AEV_REQUEST_INVALID for a bad name. */
  status(name: unknown): Promise<NamedSubscriptionStatus>;
  /** Every subscription by name, at most `namedSubscriptionListMax`. */
  list(): Promise<readonly NamedSubscriptionRecord[]>;
  /** @throws AEV_NOT_FOUND, AEV_REQUEST_INVALID for a bad name. */
  delete(name: unknown): Promise<void>;
  /**
   * Moves the checkpoint forward to `body.position`; an older or equal position changes nothing.
   * @throws AEV_NOT_FOUND; AEV_REQUEST_INVALID for a malformed body or a position the log does not hold.
   */
  ack(name: unknown, body: unknown): Promise<NamedSubscriptionRecord>;
  /**
   * Opens the subscription from its checkpoint, or after `after` when given (an SSE `Last-Event-ID`).
   * @throws AEV_NOT_FOUND; AEV_REQUEST_INVALID for a bad name or `after`.
   */
  open(
    name: unknown,
    options: { readonly after?: unknown },
    signal: AbortSignal,
  ): Promise<NamedSubscriptionHandle>;
}

/** The {@link NamedSubscriptions} of a context. */
export function createNamedSubscriptions(context: NamedSubscriptionContext): NamedSubscriptions {
  const { store, subscriptions, clock } = context;
  return {
    put: (name, body) => putNamedSubscription(context, name, body),
    status: async (name) => {
      const record = await findOrThrow(subscriptions, parseNamedSubscriptionName(name));
      const headPosition = await store.headPosition();
      const lag = await measureLag(store, compileFilter(record.filter), record.position, {
        clock,
        scanEventsMax: context.lagScanEventsMax ?? namedSubscriptionLagScanEventsMax,
      });
      return { record, headPosition, ...lag };
    },
    list: () => subscriptions.list(),
    delete: async (name) => {
      const checked = parseNamedSubscriptionName(name);
      if (!(await subscriptions.delete(checked))) throw notFound(checked);
    },
    ack: async (name, body) => {
      const checked = parseNamedSubscriptionName(name);
      if (!isObject(body) || Object.keys(body).some((key) => key !== 'position')) {
        throw invalidRequest('must be an object {"position": "..."}', 'body');
      }
      return ackPosition(context, checked, body['position']);
    },
    open: (name, options, signal) =>
      openNamedSubscription({
        ...context,
        name: parseNamedSubscriptionName(name),
        signal,
        ...(options.after === undefined ? {} : { after: options.after }),
      }),
  };
}

/** Options of {@link openNamedSubscription}. */
export interface OpenNamedSubscriptionOptions extends NamedSubscriptionContext {
  readonly name: string;
  /** Ends the subscription. */
  readonly signal: AbortSignal;
  /** Resume after this position instead of the stored checkpoint (a consumer that kept its own). Default: none. */
  readonly after?: unknown;
}

/**
 * Opens a named subscription in process, as a projector does: its events from the stored checkpoint (history, then
 * live), and `ack(position)` to store its progress. Acknowledge after the work an event caused is durable: a
 * restart resumes after the last acknowledged position, so delivery is at least once.
 * @throws AEV_NOT_FOUND for an unknown name; AEV_REQUEST_INVALID for a bad `after`.
 */
export async function openNamedSubscription(
  options: OpenNamedSubscriptionOptions,
): Promise<NamedSubscriptionHandle> {
  const { store, waiter, subscriptions, name, signal } = options;
  const record = await findOrThrow(subscriptions, parseNamedSubscriptionName(name));
  const from =
    options.after !== undefined
      ? parseStart(options.after)
      : record.position === null
        ? 'start'
        : { after: record.position };
  if (typeof from === 'object') {
    await store.readAllPage({ start: from.after, startExclusive: true, limit: 1 });
  }
  return {
    record,
    messages: subscribeOnStore(store, waiter, {
      from,
      filter: compileFilter(record.filter),
      signal,
    }),
    ack: (position) => ackPosition(options, record.name, position),
  };
}

async function putNamedSubscription(
  context: NamedSubscriptionContext,
  name: unknown,
  body: unknown,
): Promise<{ readonly record: NamedSubscriptionRecord; readonly isCreated: boolean }> {
  const checked = parseNamedSubscriptionName(name);
  const input = body === undefined || body === null ? {} : body;
  if (!isObject(input)) throw invalidRequest('must be an object', 'body');
  rejectUnknownKeys(input, ['filter', 'from'], 'body');
  const filter = parseBodyFilter(input['filter']);
  const from = input['from'];
  const start = from === undefined ? 'end' : parseStart(from);
  let position: GlobalPosition | null;
  if (start === 'start') position = null;
  else if (start === 'end') position = await context.store.headPosition();
  else position = await existingPosition(context.store, start.after, 'from');
  return context.subscriptions.put({
    name: checked,
    filter,
    position,
    resetPosition: from !== undefined,
    at: formatTimestamp(context.clock.nowMs()),
  });
}

function parseBodyFilter(value: unknown): NamedSubscriptionFilter {
  if (value === undefined || value === null) return { streams: [], types: [], principals: [] };
  if (!isObject(value)) throw invalidRequest('must be an object', 'filter');
  rejectUnknownKeys(value, ['streams', 'types', 'principals'], 'filter');
  for (const key of ['streams', 'types', 'principals']) {
    if (value[key] !== undefined && !Array.isArray(value[key])) {
      throw invalidRequest('must be a list of strings', `filter.${key}`);
    }
  }
  return parseFilter({
    streams: value['streams'],
    types: value['types'],
    principals: value['principals'],
  });
}

async function ackPosition(
  context: NamedSubscriptionContext,
  name: string,
  position: unknown,
): Promise<NamedSubscriptionRecord> {
  if (!isPositionText(position)) {
    throw invalidRequest(
      'must be a position from an event or checkpoint of the subscription',
      'position',
    );
  }
  await findOrThrow(context.subscriptions, name);
  const held = await existingPosition(context.store, asGlobalPosition(position), 'position');
  const advanced = await context.subscriptions.advance(
    name,
    held,
    formatTimestamp(context.clock.nowMs()),
  );
  // Deleted between the two calls: as if the delete came first.
  if (advanced === null) throw notFound(name);
  return advanced;
}

/** `position` when the log holds an event there; positions the log never produced are refused. */
async function existingPosition(
  store: EventStore,
  position: GlobalPosition,
  field: string,
): Promise<GlobalPosition> {
  const page = await store.readAllPage({ start: position, end: position, limit: 1 });
  if (page[0]?.position !== position) {
    throw invalidRequest(`the log holds no event at position ${position}`, field);
  }
  return position;
}

async function measureLag(
  store: EventStore,
  filter: SubscriptionFilter,
  position: GlobalPosition | null,
  options: { readonly clock: Clock; readonly scanEventsMax: number },
): Promise<Pick<NamedSubscriptionStatus, 'lagEvents' | 'isLagExact' | 'lagSeconds'>> {
  const { clock, scanEventsMax } = options;
  assert(Number.isSafeInteger(scanEventsMax) && scanEventsMax > 0, 'the lag scan is bounded');
  const pageEvents = Math.min(subscriptionPageEvents, store.limits.readPageEventsMax);
  let cursor = position;
  let scanned = 0;
  let lagEvents = 0;
  let firstRecordedAt: string | null = null;
  while (scanned < scanEventsMax) {
    const limit = Math.min(pageEvents, scanEventsMax - scanned);
    const page = await store.readAllPage(
      cursor === null ? { limit } : { start: cursor, startExclusive: true, limit },
    );
    for (const event of page) {
      cursor = event.position;
      if (!matchesSubscriptionFilter(filter, event)) continue;
      lagEvents += 1;
      firstRecordedAt ??= event.recordedAt;
    }
    scanned += page.length;
    if (page.length < limit) {
      return { lagEvents, isLagExact: true, lagSeconds: secondsSince(firstRecordedAt, clock) };
    }
  }
  // The scan stopped at its maximum: one more read tells whether the count is complete.
  const next = await store.readAllPage(
    cursor === null ? { limit: 1 } : { start: cursor, startExclusive: true, limit: 1 },
  );
  const isLagExact = next.length === 0;
  const since = firstRecordedAt ?? next[0]?.recordedAt ?? null;
  return { lagEvents, isLagExact, lagSeconds: secondsSince(since, clock) };
}

function secondsSince(recordedAt: string | null, clock: Clock): number {
  if (recordedAt === null) return 0;
  const recordedMs = parseTimestamp(recordedAt);
  if (recordedMs === null) return 0;
  return Math.max(0, clock.nowMs() - recordedMs) / 1000;
}

async function findOrThrow(
  subscriptions: NamedSubscriptionStore,
  name: string,
): Promise<NamedSubscriptionRecord> {
  const record = await subscriptions.find(name);
  if (record === null) throw notFound(name);
  return record;
}

function notFound(name: string): AevonError<'AEV_NOT_FOUND'> {
  return new AevonError('AEV_NOT_FOUND', { resource: `subscription ${name}` });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rejectUnknownKeys(
  value: Record<string, unknown>,
  known: readonly string[],
  field: string,
): void {
  const unknown = Object.keys(value).find((key) => !known.includes(key));
  if (unknown !== undefined) {
    throw invalidRequest(
      `unknown field ${JSON.stringify(unknown)}; use ${known.join(', ')}`,
      field,
    );
  }
}
