// Goal: the Eventd seed's two POST requests go through the whole pure write path as the specification describes:
// keys left out are generated, created_at takes NOW(), the second POST finds the account by the account_id alias and
// the path. Method: validate, generate keys as a store does (next = max + 1), fill the stream id, plan and apply in
// memory; once with the seed as written (its typo leaves billing_contact.last_name null) and once with it fixed.
import { describe, expect, it } from 'vitest';
import { accountCreatedEventType, eventdExamples } from '../eventd-examples.fixture.js';
import type { DefinitionsState, Row, Value } from '../store/aggregate-store.js';
import { applyDefinitionsChange, emptyDefinitionsState } from './definitions.js';
import { planRowChanges } from './plan-rows.js';
import { applyRowOperations } from './replay.js';
import type { RowOperationsOutcome, RowTables } from './replay.js';
import { streamIdFor, validateEventInput } from './validate-event.js';

const post1 = {
  name: 'test account',
  billing_first_name: 'Bob',
  billing_last_name: 'Test',
  send_notification: true,
};
const post2 = { account_id: 123, name: 'test account 2' };
const fixed = eventdExamples.map((block) =>
  block === accountCreatedEventType
    ? block.replace(
        'billing_last_name   updates billing_contact(first_name)',
        'billing_last_name   updates billing_contact(last_name)',
      )
    : block,
);

/** A store's write path, in memory: validate, generate keys from counters, plan, apply. */
function write(
  state: DefinitionsState,
  tables: RowTables,
  counters: Map<string, number>,
  request: { eventType: string; pathValues: string[]; body: object; eventId: string; at: string },
): { streamId: string; data: Row; outcome: RowOperationsOutcome } {
  const validated = validateEventInput(state, {
    stream: 'account_events',
    eventType: request.eventType,
    body: request.body,
    pathValues: request.pathValues,
    now: request.at,
    randomUuid: () => '00000000-0000-4000-8000-000000000000',
  });
  const data: Record<string, Value> = { ...validated.data };
  for (const key of validated.keysToGenerate) {
    const next = (counters.get(`${key.aggregate}.${key.column}`) ?? 0) + 1;
    counters.set(`${key.aggregate}.${key.column}`, next);
    data[key.field] = next;
  }
  const operations = planRowChanges(state.catalog, validated.eventType, data, {
    eventId: request.eventId,
    recordedAt: request.at,
  });
  return {
    streamId: streamIdFor(state.catalog, 'account_events', data),
    data,
    outcome: applyRowOperations(tables, operations, state.catalog),
  };
}

describe('the Eventd seed POSTs', () => {
  const at = '2024-06-01T08:00:00.000Z';

  it('as written: the first POST conflicts on billing_contact.last_name (the seed typo)', () => {
    const state = applyDefinitionsChange(emptyDefinitionsState(), {
      ddl: eventdExamples.join(';\n'),
    }).state;
    const tables: RowTables = new Map();
    const { outcome } = write(state, tables, new Map(), {
      eventType: 'account_created',
      pathValues: [],
      body: post1,
      eventId: 'e1',
      at,
    });
    expect(outcome.ok ? null : outcome.conflict.details).toEqual({
      aggregate: 'billing_contact',
      column: 'last_name',
      constraint: 'not_null',
      reason: 'billing_contact.last_name must not be null',
    });
    expect(tables.size).toBe(0);
  });

  it('with the typo fixed: creates both rows, then renames the account through the alias', () => {
    const state = applyDefinitionsChange(emptyDefinitionsState(), { ddl: fixed.join(';\n') }).state;
    const tables: RowTables = new Map();
    const counters = new Map([['account.id', 122]]);
    const first = write(state, tables, counters, {
      eventType: 'account_created',
      pathValues: [],
      body: post1,
      eventId: 'e1',
      at,
    });
    expect(first.outcome.ok).toBe(true);
    expect(first.streamId).toBe('/accounts/123');
    expect(first.data).toEqual({
      id: 123,
      name: 'test account',
      created_at: null,
      billing_id: 1,
      billing_first_name: 'Bob',
      billing_last_name: 'Test',
      send_notification: true,
    });
    const second = write(state, tables, counters, {
      eventType: 'account_name_updated',
      pathValues: ['123'],
      body: post2,
      eventId: 'e2',
      at: '2024-06-01T09:00:00.000Z',
    });
    expect(second.streamId).toBe('/accounts/123');
    expect(second.outcome.ok).toBe(true);
    expect(Object.fromEntries(tables.get('account') ?? [])).toEqual({
      '123': { id: 123, name: 'test account 2', created_at: '2024-06-01T08:00:00Z' },
    });
    expect(Object.fromEntries(tables.get('billing_contact') ?? [])).toEqual({
      '1': { id: 1, first_name: 'Bob', last_name: 'Test', account_id: null },
    });
    const missing = write(state, tables, counters, {
      eventType: 'account_name_updated',
      pathValues: ['124'],
      body: { name: 'x' },
      eventId: 'e3',
      at,
    });
    expect(missing.outcome.ok ? null : missing.outcome.conflict.details.constraint).toBe(
      'references',
    );
  });
});
