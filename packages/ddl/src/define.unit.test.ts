// Goal: definitions built in TypeScript are the same values the parser gives for the same DDL, and pass the same
// checks. Method: build the Eventd examples with the builders, compare with the parsed fixtures, check them together
// with checkDefinitions; then feed the builders invalid input and expect AEV_DDL_INVALID without a position.
import { isAevonError } from '@aevon/core';
import { describe, expect, it } from 'vitest';
import {
  checkDefinitions,
  defineAggregate,
  defineEventType,
  defineStream,
  formatDdl,
  parseDdl,
} from './index.js';
import { eventdExamples } from './eventd-examples.fixture.js';
import { stripPositions } from './strip-positions.fixture.js';

const account = defineAggregate({
  name: 'account',
  columns: [
    { name: 'id', type: 'SERIAL', primaryKey: true },
    { name: 'name', type: 'varchar(40)', notNull: true },
    {
      name: 'created_at',
      type: { name: 'timestamptz' },
      notNull: true,
      default: { kind: 'function', name: 'now' },
    },
  ],
});
const billingContact = defineAggregate({
  name: 'billing_contact',
  columns: [
    { name: 'id', type: 'serial', primaryKey: true },
    { name: 'first_name', type: 'varchar(40)', notNull: true },
    { name: 'last_name', type: 'varchar(40)', notNull: true },
    { name: 'account_id', references: 'account(id)' },
  ],
});
const accountCreated = defineEventType({
  name: 'account_created',
  fields: [
    { name: 'id', creates: 'account(id)' },
    { name: 'name', updates: 'account(name)' },
    { name: 'created_at', updates: { aggregate: 'account', column: 'created_at' } },
    { name: 'billing_id', creates: 'billing_contact(id)' },
    { name: 'billing_first_name', updates: 'billing_contact(first_name)' },
    { name: 'billing_last_name', updates: 'billing_contact(first_name)' },
    { name: 'send_notification', type: 'boolean', notNull: true },
  ],
});
const accountNameUpdated = defineEventType({
  name: 'account_name_updated',
  fields: [
    { name: 'id', references: 'account(id)' },
    { name: 'name', updates: 'account(name)' },
  ],
});
const accountEvents = defineStream({
  name: 'account_events',
  path: '/accounts/{id}',
  eventTypes: ['account_created', 'account_name_updated'],
});

const ddlInvalid = (build: () => unknown): unknown => {
  try {
    build();
  } catch (error) {
    expect(isAevonError(error, 'AEV_DDL_INVALID')).toBe(true);
    return (error as { details: unknown }).details;
  }
  throw new Error('expected AEV_DDL_INVALID');
};

describe('define*', () => {
  it('builds the Eventd examples exactly as the parser reads them', () => {
    const built = [account, billingContact, accountCreated, accountNameUpdated, accountEvents];
    expect(built).toEqual(stripPositions(eventdExamples.flatMap((text) => parseDdl(text))));
    expect(checkDefinitions(built).warnings).toHaveLength(1);
    expect(stripPositions(parseDdl(formatDdl(built)))).toEqual(built);
  });

  it('turns JavaScript values into DEFAULT literals', () => {
    const built = defineAggregate({
      name: 'd',
      columns: [
        { name: 'id', type: 'bigint', primaryKey: true, default: 9007199254740993n },
        { name: 'a', type: 'double precision', default: 1e21 },
        { name: 'b', type: 'boolean', default: false },
        { name: 'c', type: 'text', default: null },
        { name: 'e', type: 'char(2)', default: 'ab' },
      ],
    });
    expect(built.columns.map((c) => c.default)).toEqual([
      { kind: 'literal', literal: { kind: 'number', text: '9007199254740993' } },
      { kind: 'literal', literal: { kind: 'number', text: '1e21' } },
      { kind: 'literal', literal: { kind: 'boolean', value: false } },
      { kind: 'literal', literal: { kind: 'null' } },
      { kind: 'literal', literal: { kind: 'string', value: 'ab' } },
    ]);
    expect(stripPositions(parseDdl(formatDdl([built])))).toEqual([built]);
  });

  it.each([
    [
      () =>
        defineAggregate({
          name: 'a',
          columns: [{ name: 'id', type: 'varchar(0)', primaryKey: true }],
        }),
      {
        reason: 'length for type varchar must be between 1 and 10485760, not 0',
        line: 1,
        column: 1,
      },
    ],
    [
      () =>
        defineAggregate({
          name: 'a',
          columns: [{ name: 'id', type: 'int', primaryKey: true, default: 'x' }],
        }),
      { reason: `column "id": DEFAULT 'x' does not fit type integer: expected an integer` },
    ],
    [
      () =>
        defineAggregate({
          name: 'a',
          columns: [{ name: 'id', type: { name: 'numeric', precision: 0 }, primaryKey: true }],
        }),
      { reason: 'NUMERIC precision 0 must be between 1 and 1000' },
    ],
    [
      () => defineAggregate({ name: 'a', columns: [{ name: 'x', type: 'text' }] }),
      { reason: 'aggregate "a" needs a PRIMARY KEY column' },
    ],
    [
      () => defineAggregate({ name: '', columns: [] }),
      { reason: 'aggregate name must be 1 to 63 characters long, without NUL' },
    ],
    [
      () => defineEventType({ name: 'e', fields: [{ name: 'x' }] }),
      { reason: 'field "x" of event type "e" needs a type or a link' },
    ],
    [
      () =>
        defineEventType({
          name: 'e',
          fields: [{ name: 'x', creates: 'a(id)', references: 'a(id)' }],
        }),
      { reason: 'field "x": give one of creates, updates, references, not creates and references' },
    ],
    [
      () => defineEventType({ name: 'e', fields: [{ name: 'x', references: 'a.id' }] }),
      { reason: 'expected "aggregate(column)", found "a.id"' },
    ],
    [
      () =>
        defineEventType({ name: 'e', fields: [{ name: 'x', type: 'real', default: Number.NaN }] }),
      { reason: 'DEFAULT NaN is not a finite number' },
    ],
    [
      () => defineStream({ name: 's', path: 'accounts', eventTypes: ['e'] }),
      { reason: 'stream path "accounts" must start with "/"' },
    ],
    [
      () => defineStream({ name: 's', path: '/', eventTypes: [] }),
      { reason: 'stream "s" needs at least one event type' },
    ],
  ])('rejects invalid input (%#)', (build, details) => {
    expect(ddlInvalid(build)).toEqual(details);
  });
});
