import type { GlobalPosition } from '../event/event.js';
import type { NamedSubscriptionFilter, NamedSubscriptionRecord } from './named-subscription.js';

/** What {@link NamedSubscriptionStore.put} writes. */
export interface NamedSubscriptionPut {
  readonly name: string;
  readonly filter: NamedSubscriptionFilter;
  /** The checkpoint of a new subscription, and of an existing one when `resetPosition` is true. */
  readonly position: GlobalPosition | null;
  /** Replace an existing subscription's checkpoint with `position` (a client asked for a new start); else keep it. */
  readonly resetPosition: boolean;
  /** RFC 3339 UTC with milliseconds: `createdAt` of a new subscription, `updatedAt` in any case. */
  readonly at: string;
}

/**
 * Where named subscriptions live: next to the event log (memory, SQLite, PostgreSQL), so that every node on the
 * database sees the same definitions and checkpoints. Each call is atomic on its own. The store does not read the
 * log: that a position exists is the engine's check.
 */
export interface NamedSubscriptionStore {
  /**
   * Creates a subscription, or replaces an existing one's filter (and its checkpoint when `resetPosition`).
   * @returns the stored record, and whether it was created.
   * @throws AssertionError for a malformed record; AEV_STORAGE_UNAVAILABLE.
   */
  put(input: NamedSubscriptionPut): Promise<{
    readonly record: NamedSubscriptionRecord;
    readonly isCreated: boolean;
  }>;
  /** The subscription with this name, or null. */
  find(name: string): Promise<NamedSubscriptionRecord | null>;
  /** The subscriptions by name (code-point order), at most `namedSubscriptionListMax`. */
  list(): Promise<readonly NamedSubscriptionRecord[]>;
  /**
   * Moves the checkpoint forward to `position`, atomically: a position at or before the stored one changes nothing
   * (acknowledgements may arrive late or twice), so the checkpoint never moves back through `advance`.
   * @returns the record after the call, or null when no subscription has this name.
   */
  advance(
    name: string,
    position: GlobalPosition,
    at: string,
  ): Promise<NamedSubscriptionRecord | null>;
  /** Deletes a subscription; false when there was none. */
  delete(name: string): Promise<boolean>;
  /** Releases what the store holds of its own (never the shared storage). */
  close(): Promise<void>;
}
