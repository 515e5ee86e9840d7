import type { GlobalPosition } from '../event/event.js';
import { asGlobalPosition } from '../event/event.js';
import { invalidRequest } from '../errors/aevon-error.js';
import { assert } from '../internal/assert.js';

/** The longest name of a named subscription, in characters. */
export const namedSubscriptionNameLengthMax = 128;
/** Stream patterns, event types and principals one subscription may name, each (as `GET /v1/subscriptions`). */
export const namedSubscriptionFilterValuesMax = 32;
/** The longest stream pattern, event type or principal a stored filter holds, in characters. */
export const namedSubscriptionFilterValueLengthMax = 512;
/** The most named subscriptions a listing returns (and so, in practice, the most a deployment should define). */
export const namedSubscriptionListMax = 1_000;

/**
 * A name: a letter or digit, then letters, digits, `.`, `_` or `-`. It is a URL path segment as is (no escaping), and
 * `events`/`ack` cannot clash with the sub-resources because those sit one segment deeper.
 */
export const namedSubscriptionNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Names a subscription may not take: static paths beside `/v1/subscriptions/{name}` would shadow it. */
export const namedSubscriptionReservedNames: readonly string[] = ['ws'];

/**
 * The stored filter of a named subscription, in the form a client wrote it (the query parameters of
 * `GET /v1/subscriptions`): stream path patterns, event types and metering principals. An empty list means no
 * condition on that field; the engine compiles the patterns when it opens the subscription.
 */
export interface NamedSubscriptionFilter {
  readonly streams: readonly string[];
  readonly types: readonly string[];
  readonly principals: readonly string[];
}

/**
 * A durable named subscription: a filter and the consumer's checkpoint, stored next to the log so that a consumer
 * (or another node) resumes where the last acknowledgement left it.
 */
export interface NamedSubscriptionRecord {
  readonly name: string;
  readonly filter: NamedSubscriptionFilter;
  /**
   * The checkpoint: every event up to and including it is acknowledged. Null before the first event of the log
   * (a subscription created `from: start`, or `from: end` on an empty log).
   */
  readonly position: GlobalPosition | null;
  /** RFC 3339 UTC with milliseconds. */
  readonly createdAt: string;
  /** When the definition or the checkpoint last changed. */
  readonly updatedAt: string;
}

/** Why `name` cannot name a subscription, or null when it can. */
export function checkNamedSubscriptionName(name: unknown): string | null {
  if (typeof name !== 'string' || !namedSubscriptionNamePattern.test(name)) {
    return `must be 1 to ${namedSubscriptionNameLengthMax} letters, digits, '.', '_' or '-', starting with a letter or digit`;
  }
  if (namedSubscriptionReservedNames.includes(name)) {
    return `${JSON.stringify(name)} is reserved (GET /v1/subscriptions/ws is the WebSocket stream)`;
  }
  return null;
}

/**
 * Checks a subscription name from the outside (a URL, a caller).
 * @throws AEV_REQUEST_INVALID (field `name`).
 */
export function parseNamedSubscriptionName(name: unknown): string {
  const problem = checkNamedSubscriptionName(name);
  if (problem !== null) throw invalidRequest(problem, 'name');
  return name as string;
}

/** Asserts what a store may hold (paired: before a write and after a read). */
export function assertNamedSubscriptionRecord(record: NamedSubscriptionRecord): void {
  assert(checkNamedSubscriptionName(record.name) === null, 'a subscription name is well formed');
  for (const list of [record.filter.streams, record.filter.types, record.filter.principals]) {
    assert(list.length <= namedSubscriptionFilterValuesMax, 'a filter list is bounded');
    for (const value of list) {
      assert(typeof value === 'string', 'a filter value is a string');
      assert(value.length > 0, 'a filter value is not empty');
      assert(value.length <= namedSubscriptionFilterValueLengthMax, 'a filter value is bounded');
    }
  }
  assert(record.position === null || typeof record.position === 'string', 'a position is text');
  assert(typeof record.createdAt === 'string', 'createdAt is a timestamp');
  assert(typeof record.updatedAt === 'string', 'updatedAt is a timestamp');
}

/** True when checkpoint `next` is after `current` (positions of one log compare as text). */
export function isPositionAfter(next: GlobalPosition, current: GlobalPosition | null): boolean {
  return current === null || next > current;
}

/** A named subscription as the SQL stores keep it: the filter as JSON text, the timestamps as text. */
export interface NamedSubscriptionRow {
  readonly name: string;
  readonly filter: string;
  readonly position: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

/** Reads a stored row back into a record, checked as one a store may have written (paired with the write check). */
export function namedSubscriptionFromRow(row: NamedSubscriptionRow): NamedSubscriptionRecord {
  const record: NamedSubscriptionRecord = {
    name: row.name,
    filter: JSON.parse(row.filter) as NamedSubscriptionFilter,
    position: row.position === null ? null : asGlobalPosition(row.position),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  assertNamedSubscriptionRecord(record);
  return record;
}
