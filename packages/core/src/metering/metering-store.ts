import { AevonError } from '../errors/aevon-error.js';
import type { EventData, GlobalPosition } from '../event/event.js';
import { parseTimestamp } from '../event/validation.js';
import { assert } from '../internal/assert.js';
import type { BucketDelta, StoredBucket } from './bucket-fold.js';
import type { MeteringGranularity } from './buckets.js';

/** The name of the metering sweep's row in `sweep_checkpoints`. */
export const meteringCheckpointName = 'metering';

/** Default most tail events one state query scans before it gives up with `AEV_OVERLOADED`. */
export const tailEventsMaxDefault = 100_000;

/** Default events per page when a store reads the tail. */
export const tailPageEventsDefault = 1_000;

/** A raw event after the checkpoint, as the read path merges it. */
export interface TailEvent {
  readonly position: GlobalPosition;
  readonly occurredAt: string;
  readonly data: EventData;
}

/** What {@link MeteringStore.readState} reads: one rule's buckets and tail for one principal over a range. */
export interface StateReadQuery {
  readonly rule: string;
  /** The event type the rule folds: the tail holds only events of this type. */
  readonly sourceEvent: string;
  readonly principalId: string;
  /** The range `[fromMs, toMs)`, on whole minutes. */
  readonly fromMs: number;
  readonly toMs: number;
  /**
   * The granularity of the answer: it decides which rollups may stand in for 1-minute buckets
   * ({@link planBucketReads}). `1m` reads only 1-minute buckets.
   */
  readonly granularity: MeteringGranularity;
}

/**
 * One consistent snapshot: the buckets hold exactly the events up to `checkpoint` and the tail exactly the
 * matching events after it, so no event is counted twice or missed whatever a concurrent sweep does.
 */
export interface StateSnapshot {
  readonly checkpoint: GlobalPosition | null;
  /**
   * The rule's buckets for the principal that cover `[fromMs, toMs)` as {@link planBucketReads} plans it for the
   * query's granularity: 1-minute buckets and, where they fit, hour and day rollups. Disjoint, each wholly inside
   * the range and inside one window of the granularity, ascending by start.
   */
  readonly buckets: readonly StoredBucket[];
  /** The principal's events of the source type after the checkpoint whose `occurred_at` lies in the range. */
  readonly tail: readonly TailEvent[];
}

/** One sweep step: merge `buckets` and move the checkpoint from `previous` to `checkpoint`, atomically. */
export interface SweepStep {
  readonly buckets: readonly BucketDelta[];
  /** The checkpoint the step was folded from (null before the first sweep). */
  readonly previous: GlobalPosition | null;
  /** The position of the last event the step folded. */
  readonly checkpoint: GlobalPosition;
}

/** A stored pre-aggregate with the rule and principal it belongs to, as {@link MeteringStore.readBuckets} lists it. */
export interface OwnedBucket extends StoredBucket {
  readonly rule: string;
  readonly principalId: string;
}

/** Which pre-aggregates {@link MeteringStore.readBuckets} lists: some rules, optionally of one principal. */
export interface BucketSelection {
  readonly rules: readonly string[];
  readonly principalId?: string;
}

/** A stored hour or day rollup with the rule and principal it belongs to. */
export interface OwnedRollup extends OwnedBucket {
  /** One of {@link rollupWidthsMs}. */
  readonly widthMs: number;
}

/** Pre-aggregates and the checkpoint they hold the events up to, read in one snapshot. */
export interface BucketListing {
  readonly checkpoint: GlobalPosition | null;
  /** Grouped by rule and principal, ascending by bucket start within each (string order is the store's). */
  readonly buckets: readonly OwnedBucket[];
  /**
   * The selected rules' rollups that state queries read: those starting at or after `rollupsFromMs` (any order).
   * Each must equal the merge of the buckets inside it.
   */
  readonly rollups: readonly OwnedRollup[];
  /** Where the store's rollups are complete (a UTC day), or null for everywhere (see {@link planBucketReads}). */
  readonly rollupsFromMs: number | null;
}

/** What {@link MeteringStore.replaceRule} swaps: a staged rebuild in place of a rule's live pre-aggregates. */
export interface RuleReplacement {
  /** The live rule whose pre-aggregates are replaced. */
  readonly rule: string;
  /** The staging rule name whose buckets become the live rule's (see {@link rebuildStagingName}). */
  readonly staging: string;
  /** The checkpoint the staging holds every event up to; the swap applies only while the stored one equals it. */
  readonly checkpoint: GlobalPosition | null;
}

/**
 * The rule name under which a rebuild of `rule` stages its buckets: it holds `~` and `/`, which no rule name may
 * contain, so no state query or sweep ever touches it.
 */
export function rebuildStagingName(rule: string): string {
  return `~rebuild/${rule}`;
}

/** The outcome of {@link MeteringStore.withSweepLock}. */
export type SweepLockResult<T> =
  { readonly acquired: true; readonly value: T } | { readonly acquired: false };

/**
 * Where metering keeps its derived state: the 1-minute pre-aggregates and the sweep checkpoint, next to the event
 * log (memory, SQLite, PostgreSQL).
 */
export interface MeteringStore {
  /** The position of the last event the sweep has folded, or null before the first sweep. */
  loadCheckpoint(): Promise<GlobalPosition | null>;
  /**
   * Merges a sweep step's deltas into the pre-aggregates and their rollups ({@link rollUpDeltas}) and moves the
   * checkpoint, in one transaction. The step
   * applies only if the stored checkpoint still equals `step.previous` (another node may have moved it).
   * @returns true when applied, false when the checkpoint had moved (nothing was written).
   */
  applySweep(step: SweepStep): Promise<boolean>;
  /**
   * Reads buckets, tail and checkpoint in one consistent snapshot. The tail is read in bounded pages.
   * @throws AEV_OVERLOADED when more than the store's tail maximum of events lie after the checkpoint (the sweep
   *   is far behind; retry once it has caught up); AEV_STORAGE_UNAVAILABLE.
   */
  readState(query: StateReadQuery): Promise<StateSnapshot>;
  /**
   * Runs `fn` while holding the sweep lock, so that one node at a time sweeps; returns `{ acquired: false }` at once
   * when another holds it. The lock dies with its holder (PostgreSQL: a session advisory lock).
   */
  withSweepLock<T>(fn: () => Promise<T>): Promise<SweepLockResult<T>>;
  /**
   * Lists the selected pre-aggregates, their rollups and the checkpoint in one consistent snapshot (verification). Holds the whole
   * selection in memory: narrow it by principal for large stores.
   */
  readBuckets(selection: BucketSelection): Promise<BucketListing>;
  /**
   * Merges deltas into the pre-aggregates (and rollups) named by their `rule`, in one transaction, without moving
   * the checkpoint.
   * Only a rebuild uses it, on its staging name: live rules change through `applySweep` and `replaceRule` only.
   */
  mergeBuckets(deltas: readonly BucketDelta[]): Promise<void>;
  /** Deletes every pre-aggregate and rollup of one rule name (a stale staging area); resolves to how many 1-minute buckets. */
  deleteRule(rule: string): Promise<number>;
  /**
   * In one transaction, and only while the stored checkpoint equals `replacement.checkpoint` (serialised with
   * `applySweep`): deletes the rule's pre-aggregates and rollups and renames the staging ones to the rule. Readers see the
   * old or the new buckets, never a mix.
   * @returns true when swapped, false when the checkpoint had moved (nothing was written; stage more and retry).
   */
  replaceRule(replacement: RuleReplacement): Promise<boolean>;
  /** How many events the log holds up to and including `through` (progress of a rebuild). */
  countEventsThrough(through: GlobalPosition): Promise<number>;
  /** Releases what the store holds of its own (never the shared storage). */
  close(): Promise<void>;
}

/** Asserts a sweep step moves the checkpoint forward; stores call it before writing (paired with the load). */
export function assertSweepStep(step: SweepStep): void {
  if (step.previous !== null)
    assert(step.checkpoint > step.previous, 'a sweep checkpoint only moves forward');
  for (const bucket of step.buckets) {
    assert(bucket.eventCount > 0, 'a bucket delta folds at least one event');
    assert(Number.isSafeInteger(bucket.bucketStartMs), 'a bucket starts on an integer millisecond');
  }
}

/** True when an event's `occurred_at` lies in `[fromMs, toMs)`. */
export function occurredInRange(occurredAt: string, fromMs: number, toMs: number): boolean {
  const ms = parseTimestamp(occurredAt);
  return ms !== null && ms >= fromMs && ms < toMs;
}

/** The error a store raises when a state query's tail is larger than it may scan. */
export function tailTooLargeError(scanned: number, max: number): AevonError<'AEV_OVERLOADED'> {
  return new AevonError('AEV_OVERLOADED', { queued: scanned, max, retryAfterMs: 1000 });
}
