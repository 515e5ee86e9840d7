/** Time, injected (STYLE 2.8): core never reads ambient time, so that a simulation can drive it. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
}

/** Formats epoch milliseconds as RFC 3339 UTC with millisecond precision. */
export function formatTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** A clock a test moves by hand. */
export function createManualClock(
  startMs = 0,
): Clock & { advance(ms: number): void; set(ms: number): void } {
  let now = startMs;
  return {
    nowMs: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    set: (ms: number) => {
      now = ms;
    },
  };
}
