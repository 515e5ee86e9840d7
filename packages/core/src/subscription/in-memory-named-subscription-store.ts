import type { NamedSubscriptionRecord } from './named-subscription.js';
import {
  assertNamedSubscriptionRecord,
  isPositionAfter,
  namedSubscriptionListMax,
} from './named-subscription.js';
import type { NamedSubscriptionStore } from './named-subscription-store.js';

/** A {@link NamedSubscriptionStore} held in memory, for unit tests and an engine without a database. */
export function createInMemoryNamedSubscriptionStore(): NamedSubscriptionStore {
  const records = new Map<string, NamedSubscriptionRecord>();
  const copy = (record: NamedSubscriptionRecord): NamedSubscriptionRecord => ({
    ...record,
    filter: {
      streams: [...record.filter.streams],
      types: [...record.filter.types],
      principals: [...record.filter.principals],
    },
  });
  return {
    put: async (input) => {
      const existing = records.get(input.name);
      const record: NamedSubscriptionRecord = {
        name: input.name,
        filter: input.filter,
        position:
          existing === undefined || input.resetPosition ? input.position : existing.position,
        createdAt: existing?.createdAt ?? input.at,
        updatedAt: input.at,
      };
      assertNamedSubscriptionRecord(record);
      records.set(input.name, copy(record));
      return { record: copy(record), isCreated: existing === undefined };
    },
    find: async (name) => {
      const record = records.get(name);
      return record === undefined ? null : copy(record);
    },
    list: async () =>
      [...records.values()]
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .slice(0, namedSubscriptionListMax)
        .map(copy),
    advance: async (name, position, at) => {
      const record = records.get(name);
      if (record === undefined) return null;
      if (!isPositionAfter(position, record.position)) return copy(record);
      const advanced = { ...record, position, updatedAt: at };
      records.set(name, advanced);
      return copy(advanced);
    },
    delete: async (name) => records.delete(name),
    close: async () => undefined,
  };
}
