import type {
  BucketAggregate,
  BucketDelta,
  EventStore,
  GlobalPosition,
  MeteringStore,
  OwnedBucket,
  OwnedRollup,
  RecordedEvent,
  RollupDelta,
} from '@aevon/core';
import {
  AevonError,
  assert,
  bucketWidthMs,
  foldSweepEvents,
  mergeAggregate,
  principalStream,
  rebuildStagingName,
  rollUpDeltas,
} from '@aevon/core';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Rule } from './contract.js';

/** Events per log page that verify and rebuild read. */
export const maintenancePageEvents = 1_000;
/** Differences a verify report lists at most (it counts them all). */
export const verifyDifferencesMaxDefault = 100;
/** Times a rebuild stages the events a running sweep folded meanwhile before it gives up on swapping. */
export const rebuildSwapAttemptsMax = 100;

/** How far a verify or rebuild has read the log. */
export interface MaintenanceProgress {
  readonly eventsRead: number;
  /** Events to read in all (known for a rebuild of the whole log; null when reading one principal's stream). */
  readonly eventsTotal: number | null;
}

/** Options of {@link verifyState}. */
export interface VerifyOptions {
  readonly store: EventStore;
  readonly metering: MeteringStore;
  /** The rules to check (every configured rule, or the one of `--rule`). */
  readonly rules: readonly Rule[];
  /** Check only this principal's pre-aggregates (reads only its stream). */
  readonly principalId?: string;
  /** Differences listed at most. Default: {@link verifyDifferencesMaxDefault}. */
  readonly differencesMax?: number;
  readonly onProgress?: (progress: MaintenanceProgress) => void;
}

/** One pre-aggregate (a 1-minute bucket or a rollup) whose stored value differs from a recomputation from the log. */
export interface BucketDifference {
  readonly rule: string;
  readonly principalId: string;
  /** 60,000 for a 1-minute bucket, else the rollup's width (an hour or a day). */
  readonly widthMs: number;
  readonly bucketStartMs: number;
  /** The recomputation; null when no event of the log falls in this bucket. */
  readonly expected: BucketAggregate | null;
  /** What is stored; null when the bucket is missing. */
  readonly stored: BucketAggregate | null;
}

/** What {@link verifyState} found. */
export interface VerifyReport {
  /** The sweep checkpoint the check was made at: the pre-aggregates must hold exactly the events up to it. */
  readonly checkpoint: GlobalPosition | null;
  readonly rules: readonly string[];
  readonly eventsRead: number;
  readonly bucketsStored: number;
  readonly bucketsExpected: number;
  /** Hour and day rollups compared (those state queries read: see `BucketListing.rollupsFromMs`). */
  readonly rollupsStored: number;
  readonly rollupsExpected: number;
  /** Every differing bucket counted. */
  readonly differenceCount: number;
  /** The first `differencesMax` differences: wrong or extra stored buckets first, then missing ones. */
  readonly differences: readonly BucketDifference[];
}

/**
 * Recomputes the selected pre-aggregates from the log and compares them with the stored ones. The stored buckets
 * and the checkpoint are read in one snapshot first; then the log is folded up to that checkpoint (events at or
 * below it never change), so the check is exact while a server keeps ingesting and sweeping. Holds the selection's
 * buckets in memory twice (stored and expected): narrow it with `principalId` on very large stores.
 */
export async function verifyState(options: VerifyOptions): Promise<VerifyReport> {
  const { store, metering, rules } = options;
  const differencesMax = options.differencesMax ?? verifyDifferencesMaxDefault;
  const listing = await metering.readBuckets({
    rules: rules.map((rule) => rule.name),
    ...(options.principalId === undefined ? {} : { principalId: options.principalId }),
  });
  const expected = new Map<string, BucketDelta>();
  let eventsRead = 0;
  if (listing.checkpoint !== null) {
    const eventsTotal =
      options.principalId === undefined
        ? await metering.countEventsThrough(listing.checkpoint)
        : null;
    for await (const page of logPages(store, listing.checkpoint, options.principalId)) {
      for (const delta of foldSweepEvents(rules, page).deltas) {
        const key = bucketKey(delta);
        expected.set(key, {
          ...delta,
          ...mergeAggregate(delta.operator, expected.get(key), delta),
        });
      }
      eventsRead += page.length;
      options.onProgress?.({ eventsRead, eventsTotal });
    }
  }
  // Minutes and rollups are compared alike, keyed by rule, principal, width and start.
  const expectedAll = new Map<string, RollupDelta>();
  for (const delta of expected.values()) {
    const minute = { ...delta, widthMs: bucketWidthMs };
    expectedAll.set(keyWithWidth(minute), minute);
  }
  let rollupsExpected = 0;
  for (const rollup of rollUpDeltas([...expected.values()])) {
    if (listing.rollupsFromMs !== null && rollup.bucketStartMs < listing.rollupsFromMs) continue;
    expectedAll.set(keyWithWidth(rollup), rollup);
    rollupsExpected += 1;
  }
  const differences: BucketDifference[] = [];
  let differenceCount = 0;
  const report = (
    bucket: Pick<OwnedRollup, 'rule' | 'principalId' | 'widthMs' | 'bucketStartMs'>,
    recomputed: BucketAggregate | undefined,
    stored: BucketAggregate | undefined,
  ): void => {
    differenceCount += 1;
    if (differences.length >= differencesMax) return;
    differences.push({
      rule: bucket.rule,
      principalId: bucket.principalId,
      widthMs: bucket.widthMs,
      bucketStartMs: bucket.bucketStartMs,
      expected: recomputed === undefined ? null : aggregateOf(recomputed),
      stored: stored === undefined ? null : aggregateOf(stored),
    });
  };
  const stored: OwnedRollup[] = [
    ...listing.buckets.map((bucket) => ({ ...bucket, widthMs: bucketWidthMs })),
    ...listing.rollups,
  ];
  for (const bucket of stored) {
    const key = keyWithWidth(bucket);
    const recomputed = expectedAll.get(key);
    expectedAll.delete(key);
    if (
      recomputed === undefined ||
      recomputed.eventCount !== bucket.eventCount ||
      recomputed.value !== bucket.value
    )
      report(bucket, recomputed, bucket);
  }
  for (const missing of expectedAll.values()) report(missing, missing, undefined);
  return {
    checkpoint: listing.checkpoint,
    rules: rules.map((rule) => rule.name),
    eventsRead,
    bucketsStored: listing.buckets.length,
    bucketsExpected: expected.size,
    rollupsStored: listing.rollups.length,
    rollupsExpected,
    differenceCount,
    differences,
  };
}

/** Options of {@link rebuildRule}. */
export interface RebuildOptions {
  readonly store: EventStore;
  readonly metering: MeteringStore;
  /** The rule to rebuild, as configured now (a changed operator or field takes effect). */
  readonly rule: Rule;
  /** Called after every staged page (and once more before the swap). */
  readonly onProgress?: (progress: MaintenanceProgress) => void | Promise<void>;
}

/** What {@link rebuildRule} did. */
export interface RebuildReport {
  readonly rule: string;
  /** The checkpoint the new pre-aggregates hold every event up to. */
  readonly checkpoint: GlobalPosition | null;
  readonly eventsRead: number;
  /** Times the running sweep moved the checkpoint before the swap (each time the rebuild caught up and retried). */
  readonly catchUps: number;
}

/**
 * Rebuilds one rule's pre-aggregates from the log while the server keeps serving:
 *
 * 1. folds the log up to the current sweep checkpoint into a staging area ({@link rebuildStagingName}), page by
 *    page, each page its own short transaction, so ingest and the live sweep keep going;
 * 2. catches the staging up to the checkpoint again if the live sweep moved it, then
 * 3. swaps the staging in for the rule's buckets in one transaction that applies only at that checkpoint.
 *
 * Readers see the old buckets until the swap and the new ones after it, each with the matching checkpoint, so every
 * answer stays exact. Events after the checkpoint are the live sweep's to fold, as always.
 * @throws AEV_OVERLOADED when the live sweep keeps moving the checkpoint through {@link rebuildSwapAttemptsMax}
 *   catch-ups (retry later); AEV_STORAGE_UNAVAILABLE.
 */
export async function rebuildRule(options: RebuildOptions): Promise<RebuildReport> {
  const { store, metering, rule } = options;
  const staging = rebuildStagingName(rule.name);
  await metering.deleteRule(staging);
  let checkpoint = await metering.loadCheckpoint();
  let eventsRead = 0;
  let staged: GlobalPosition | null = null;
  const eventsTotal = checkpoint === null ? 0 : await metering.countEventsThrough(checkpoint);
  const stageThrough = async (through: GlobalPosition): Promise<void> => {
    for await (const page of logPages(store, through, undefined, staged)) {
      const deltas = foldSweepEvents([rule], page).deltas.map((delta) => ({
        ...delta,
        rule: staging,
      }));
      if (deltas.length > 0) await metering.mergeBuckets(deltas);
      eventsRead += page.length;
      await options.onProgress?.({ eventsRead, eventsTotal: Math.max(eventsTotal, eventsRead) });
    }
    staged = through;
  };
  try {
    for (let attempt = 0; attempt <= rebuildSwapAttemptsMax; attempt += 1) {
      if (checkpoint !== null) await stageThrough(checkpoint);
      await options.onProgress?.({ eventsRead, eventsTotal: Math.max(eventsTotal, eventsRead) });
      if (await metering.replaceRule({ rule: rule.name, staging, checkpoint })) {
        return { rule: rule.name, checkpoint, eventsRead, catchUps: attempt };
      }
      const moved = await metering.loadCheckpoint();
      assert(
        moved !== null && (checkpoint === null || moved > checkpoint),
        'a checkpoint only moves forward',
      );
      checkpoint = moved;
    }
  } catch (error) {
    await metering.deleteRule(staging).catch(() => undefined);
    throw error;
  }
  await metering.deleteRule(staging);
  throw new AevonError('AEV_OVERLOADED', {
    queued: rebuildSwapAttemptsMax,
    max: rebuildSwapAttemptsMax,
    retryAfterMs: 1000,
  });
}

/**
 * The log's events in pages, after `after` (exclusive) and up to `through` (inclusive): the whole log, or one
 * principal's stream (whose revision order is log order).
 */
async function* logPages(
  store: EventStore,
  through: GlobalPosition,
  principalId?: string,
  after: GlobalPosition | null = null,
): AsyncGenerator<readonly RecordedEvent[]> {
  if (principalId !== undefined) {
    let page: RecordedEvent[] = [];
    for await (const event of store.read(principalStream(principalId))) {
      if (event.position > through) break;
      if (after !== null && event.position <= after) continue;
      page.push(event);
      if (page.length === maintenancePageEvents) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
    return;
  }
  let cursor = after;
  for (;;) {
    const page = await store.readAllPage({
      ...(cursor === null ? {} : { start: cursor, startExclusive: true }),
      end: through,
      limit: Math.min(maintenancePageEvents, store.limits.readPageEventsMax),
    });
    const last = page[page.length - 1];
    if (last === undefined) return;
    yield page;
    cursor = last.position;
    // A synchronous storage (SQLite) never yields inside a page: let a server in this process answer meanwhile.
    await yieldToEventLoop();
  }
}

function bucketKey(bucket: Pick<OwnedBucket, 'rule' | 'principalId' | 'bucketStartMs'>): string {
  return JSON.stringify([bucket.rule, bucket.principalId, bucket.bucketStartMs]);
}

function keyWithWidth(
  rollup: Pick<OwnedRollup, 'rule' | 'principalId' | 'widthMs' | 'bucketStartMs'>,
): string {
  return JSON.stringify([rollup.rule, rollup.principalId, rollup.widthMs, rollup.bucketStartMs]);
}

function aggregateOf(bucket: BucketAggregate): BucketAggregate {
  return { eventCount: bucket.eventCount, value: bucket.value };
}
