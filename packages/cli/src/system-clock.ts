import type { Clock } from '@aevon/core';

/**
 * The wall clock, for production. The CLI is the composition root and the only package that reads ambient time
 * (STYLE 2.8); everything else is given this {@link Clock}.
 */
export function createSystemClock(): Clock {
  return { nowMs: () => Date.now() };
}
