import { AevonError } from '../errors/aevon-error.js';
import { assert } from '../internal/assert.js';
import type { Limits } from '../limits.js';
import type { AppendBatch, AppendResult, Storage } from '../storage/storage.js';

/** Runs `start` later: when a group commit begins, after the appends that should join it were submitted. */
export type GroupCommitSchedule = (start: () => void) => void;

const inMicrotask: GroupCommitSchedule = (start) => {
  void Promise.resolve().then(start);
};

interface Waiter {
  readonly batch: AppendBatch;
  readonly eventCount: number;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit: append batches submitted while a commit is in flight (or in the same tick) are written together in
 * one storage transaction, so throughput under concurrency is not one commit per append. Each batch keeps its own
 * expectation and outcome: a failing batch is skipped by the storage and rejected alone.
 *
 * There is no timer: a group starts as soon as `schedule` runs it (by default a microtask, after the appends issued
 * in the same synchronous run) and whatever queues up meanwhile forms the next group, so a lone append pays no
 * added latency. A storage whose commit is synchronous (SQLite) cannot gather appends while it commits, so a server,
 * whose requests arrive from separate I/O callbacks, passes a `schedule` that waits for the end of the event loop's
 * I/O phase (`setImmediate`). The queue is bounded by `limits.appendQueueBatchesMax` (AEV_OVERLOADED).
 */
export class GroupCommitter {
  readonly #storage: Storage;
  readonly #limits: Limits;
  readonly #queue: Waiter[] = [];
  readonly #schedule: GroupCommitSchedule;
  #flushing: Promise<void> | null = null;

  constructor(storage: Storage, limits: Limits, schedule: GroupCommitSchedule = inMicrotask) {
    this.#storage = storage;
    this.#limits = limits;
    this.#schedule = schedule;
  }

  /** Batches waiting for a commit, not counting the group being written. */
  get queuedBatches(): number {
    return this.#queue.length;
  }

  /**
   * Queues a batch and resolves when it is durable.
   * @throws AEV_OVERLOADED when the queue is full; the batch's own AEV_STREAM_VERSION_MISMATCH or
   *   AEV_EVENT_ID_DUPLICATE; AEV_STORAGE_UNAVAILABLE when the transaction fails (nothing of it was written).
   */
  submit(batch: AppendBatch, eventCount: number): Promise<AppendResult> {
    if (this.#queue.length >= this.#limits.appendQueueBatchesMax) {
      return Promise.reject(
        new AevonError('AEV_OVERLOADED', {
          queued: this.#queue.length,
          max: this.#limits.appendQueueBatchesMax,
          retryAfterMs: 1000,
        }),
      );
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.#queue.push({ batch, eventCount, resolve, reject });
      // Start later (see the class comment), so that appends issued together join one group.
      this.#flushing ??= new Promise<void>((start) => this.#schedule(start)).then(() =>
        this.#drain(),
      );
    });
  }

  /** Resolves once every batch queued so far has been committed or rejected. */
  async idle(): Promise<void> {
    while (this.#flushing !== null) await this.#flushing;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) await this.#commitNextGroup();
    } finally {
      this.#flushing = null;
    }
  }

  async #commitNextGroup(): Promise<void> {
    let count = 0;
    let events = 0;
    while (count < this.#limits.groupCommitBatchesMax) {
      const next = this.#queue[count];
      if (next === undefined) break;
      if (count > 0 && events + next.eventCount > this.#limits.groupCommitEventsMax) break;
      count += 1;
      events += next.eventCount;
    }
    const group = this.#queue.splice(0, count);
    assert(group.length > 0, 'a group commit takes at least one batch');
    let outcomes;
    try {
      outcomes = await this.#storage.appendBatches(group.map((w) => w.batch));
    } catch (error) {
      for (const waiter of group) waiter.reject(error);
      return;
    }
    assert(outcomes.length === group.length, 'storage returns one outcome per batch');
    group.forEach((waiter, index) => {
      const outcome = outcomes[index];
      assert(outcome !== undefined, 'every batch has an outcome');
      if (outcome.ok) waiter.resolve(outcome.result);
      else waiter.reject(outcome.error);
    });
  }
}
