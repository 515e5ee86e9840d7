import type { Clock } from '../clock.js';
import { createManualClock } from '../clock.js';
import type { EventStore } from '../event-store/event-store.js';
import { createEventStore } from '../event-store/event-store.js';
import type { Limits } from '../limits.js';
import { createSeededRandom } from '../random.js';
import { createInMemoryStorage } from '../storage/in-memory-storage.js';

export { createManualClock } from '../clock.js';
export { createSeededRandom } from '../random.js';

/** An in-memory {@link EventStore} on a manual clock (starting 2026-01-01T00:00:00Z) and a seeded PRNG. */
export function createTestEventStore(
  options: { seed?: number; clock?: Clock; limits?: Partial<Limits> } = {},
): EventStore {
  return createEventStore({
    storage: createInMemoryStorage(),
    clock: options.clock ?? createManualClock(Date.UTC(2026, 0, 1)),
    random: createSeededRandom(options.seed ?? 1),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  });
}
