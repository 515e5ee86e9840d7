/**
 * Appends committed through one event store, as a counter and listeners: the in-process wake-up of subscriptions.
 * Pure bookkeeping, no timers; a listener that throws is a programmer error and propagates to the appender.
 */
export interface CommitSignal {
  /** Appends committed so far (it only grows). */
  sequence(): number;
  /** Calls `listener` after each committed append; returns the function that removes it. */
  onCommit(listener: () => void): () => void;
}

/** A {@link CommitSignal} with the function that reports a commit. */
export function createCommitSignal(): CommitSignal & { committed(): void } {
  let sequence = 0;
  const listeners = new Set<() => void>();
  return {
    sequence: () => sequence,
    onCommit: (listener) => {
      // Wrapped, so that one listener added twice is removed once per call.
      const entry = (): void => listener();
      listeners.add(entry);
      return () => listeners.delete(entry);
    },
    committed: () => {
      sequence += 1;
      for (const listener of [...listeners]) listener();
    },
  };
}
