import type {
  Clock,
  EventStore,
  GlobalPosition,
  MeteringRule,
  MeteringStore,
  RangeInput,
} from '@aevon/core';
import { assert, foldSweepEvents } from '@aevon/core';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/** Options of {@link runSweep}. */
export interface SweepOptions {
  readonly store: EventStore;
  readonly metering: MeteringStore;
  readonly rules: readonly MeteringRule[];
  /** Events per page read from the log; at most the store's read page maximum. */
  readonly pageEvents: number;
  /** Most pages one sweep folds before it yields (the next sweep carries on from the checkpoint). */
  readonly pagesMax: number;
  /** Stop starting new pages once `clock.nowMs()` reaches `atMs` (the next sweep carries on). */
  readonly deadline?: { readonly clock: Clock; readonly atMs: number };
}

/** What one sweep did. */
export interface SweepReport {
  /** Events that at least one rule folded. */
  readonly folded: number;
  /** (event, rule) pairs skipped because the event lacks the rule's numeric field. */
  readonly skipped: number;
  /** Log events read (every event after the checkpoint, matching or not). */
  readonly read: number;
  /** False when another node held the sweep lock or moved the checkpoint first. */
  readonly isOwner: boolean;
}

/**
 * Folds the log after the checkpoint into the pre-aggregates: page by page in log order, each page's bucket deltas
 * and the new checkpoint applied in one transaction, until caught up or `pagesMax` pages. Runs under the store's
 * sweep lock, and each step applies only from the checkpoint it was read from, so two nodes never fold one event
 * twice.
 */
export async function runSweep(options: SweepOptions): Promise<SweepReport> {
  const { store, metering, rules, pageEvents, pagesMax, deadline } = options;
  assert(Number.isSafeInteger(pageEvents) && pageEvents > 0, 'pageEvents is a positive integer');
  assert(Number.isSafeInteger(pagesMax) && pagesMax > 0, 'pagesMax is a positive integer');
  const locked = await metering.withSweepLock(async (): Promise<SweepReport> => {
    let folded = 0;
    let skipped = 0;
    let read = 0;
    for (let pageIndex = 0; pageIndex < pagesMax; pageIndex += 1) {
      if (pageIndex > 0 && deadline !== undefined && deadline.clock.nowMs() >= deadline.atMs) break;
      const previous = await metering.loadCheckpoint();
      const range: RangeInput<GlobalPosition> =
        previous === null
          ? { limit: pageEvents }
          : { start: previous, startExclusive: true, limit: pageEvents };
      const page = await store.readAllPage(range);
      const last = page[page.length - 1];
      if (last === undefined) break;
      if (previous !== null)
        assert(
          page.every((e) => e.position > previous),
          'a sweep page lies after the checkpoint',
        );
      const fold = foldSweepEvents(rules, page);
      const isApplied = await metering.applySweep({
        buckets: fold.deltas,
        previous,
        checkpoint: last.position,
      });
      if (!isApplied) return { folded, skipped, read, isOwner: false };
      folded += fold.folded;
      skipped += fold.skipped;
      read += page.length;
      if (page.length < pageEvents) break;
      // A synchronous storage (SQLite) never yields inside a page: let the server answer between pages.
      await yieldToEventLoop();
    }
    return { folded, skipped, read, isOwner: true };
  });
  return locked.acquired ? locked.value : { folded: 0, skipped: 0, read: 0, isOwner: false };
}
