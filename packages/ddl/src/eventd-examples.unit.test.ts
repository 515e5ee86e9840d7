// Goal: every DDL example of the Eventd specification parses, as written, to the definitions it means, and the five
// together check as one schema. Method: parse each fixture block (copied verbatim from shared/seeds/eventd.md) and
// compare with the expected model; then run the semantic check over all of them in order.
import { describe, expect, it } from 'vitest';
import { checkDefinitions, formatDdl, parseDdl } from './index.js';
import type { Statement } from './index.js';
import {
  accountAggregate,
  accountCreatedEventType,
  accountEventsStream,
  accountNameUpdatedEventType,
  billingContactAggregate,
  eventdExamples,
} from './eventd-examples.fixture.js';
import { stripPositions } from './strip-positions.fixture.js';

const parseOne = (text: string): Statement => {
  const statements = parseDdl(text);
  expect(statements).toHaveLength(1);
  return stripPositions(statements[0] as Statement);
};

describe('the Eventd specification examples', () => {
  it('parses the account aggregate (trailing comma, NOW())', () => {
    expect(parseOne(accountAggregate)).toEqual({
      kind: 'aggregate',
      name: 'account',
      columns: [
        { name: 'id', type: { name: 'serial' }, primaryKey: true },
        { name: 'name', type: { name: 'varchar', length: 40 }, notNull: true },
        {
          name: 'created_at',
          type: { name: 'timestamptz' },
          notNull: true,
          default: { kind: 'function', name: 'now' },
        },
      ],
    });
  });

  it('parses the billing contact aggregate (a column typed by its reference)', () => {
    expect(parseOne(billingContactAggregate)).toEqual({
      kind: 'aggregate',
      name: 'billing_contact',
      columns: [
        { name: 'id', type: { name: 'serial' }, primaryKey: true },
        { name: 'first_name', type: { name: 'varchar', length: 40 }, notNull: true },
        { name: 'last_name', type: { name: 'varchar', length: 40 }, notNull: true },
        { name: 'account_id', references: { aggregate: 'account', column: 'id' } },
      ],
    });
  });

  it('parses account_created (missing commas, trailing comma, creates/updates links)', () => {
    const link = (kind: string, aggregate: string, column: string) => ({ kind, aggregate, column });
    expect(parseOne(accountCreatedEventType)).toEqual({
      kind: 'event_type',
      name: 'account_created',
      fields: [
        { name: 'id', link: link('creates', 'account', 'id') },
        { name: 'name', link: link('updates', 'account', 'name') },
        { name: 'created_at', link: link('updates', 'account', 'created_at') },
        { name: 'billing_id', link: link('creates', 'billing_contact', 'id') },
        { name: 'billing_first_name', link: link('updates', 'billing_contact', 'first_name') },
        { name: 'billing_last_name', link: link('updates', 'billing_contact', 'first_name') },
        { name: 'send_notification', type: { name: 'boolean' }, notNull: true },
      ],
    });
  });

  it('parses account_name_updated (references then updates)', () => {
    expect(parseOne(accountNameUpdatedEventType)).toEqual({
      kind: 'event_type',
      name: 'account_name_updated',
      fields: [
        { name: 'id', link: { kind: 'references', aggregate: 'account', column: 'id' } },
        { name: 'name', link: { kind: 'updates', aggregate: 'account', column: 'name' } },
      ],
    });
  });

  it('parses account_events (a double-quoted path, a comment, no comma)', () => {
    expect(parseOne(accountEventsStream)).toEqual({
      kind: 'stream',
      name: 'account_events',
      path: '/accounts/{id}',
      eventTypes: ['account_created', 'account_name_updated'],
    });
  });

  it('checks all five as one schema, warning about the column two fields update', () => {
    const statements = eventdExamples.flatMap((text) => parseDdl(text));
    const result = checkDefinitions(statements);
    expect([...result.catalog.aggregates.keys()]).toEqual(['account', 'billing_contact']);
    expect([...result.catalog.eventTypes.keys()]).toEqual([
      'account_created',
      'account_name_updated',
    ]);
    expect([...result.catalog.streams.keys()]).toEqual(['account_events']);
    expect(result.changes.map((c) => [c.impact, c.version])).toEqual(Array(5).fill(['new', 1]));
    expect(result.warnings).toEqual([
      {
        message:
          'fields "billing_first_name" and "billing_last_name" of event type "account_created" both update ' +
          'billing_contact(first_name); the later field wins',
        at: { line: 7, column: 5 },
      },
    ]);
  });

  it('parses the five as one text separated by semicolons, and prints them back to the same model', () => {
    const text = eventdExamples.join(';\n');
    const statements = parseDdl(text);
    expect(stripPositions(statements)).toEqual(eventdExamples.map(parseOne));
    expect(stripPositions(parseDdl(formatDdl(statements)))).toEqual(stripPositions(statements));
  });
});
