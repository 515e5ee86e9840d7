// Goal: a typed event is checked and completed exactly as docs/reference/ddl.md "Writing events" says: the seed's
// POST examples, path values, the agg_col alias, defaults, keys to generate, and every refusal with its field.
// Method: validate inputs against the seed (and small schemas) and compare the result or the error details.
import { isAevonError } from '@aevon/core';
import { describe, expect, it } from 'vitest';
import { eventdExamples } from '../eventd-examples.fixture.js';
import type { DefinitionsState } from '../store/aggregate-store.js';
import { applyDefinitionsChange, emptyDefinitionsState } from './definitions.js';
import { streamIdFor, validateEventInput } from './validate-event.js';
import type { EventInput } from './validate-event.js';

const now = '2024-05-01T10:00:00.000Z';
const define = (ddl: string): DefinitionsState =>
  applyDefinitionsChange(emptyDefinitionsState(), { ddl }).state;
const seed = define(eventdExamples.join(';\n'));
let uuids = 0;
const input = (
  partial: Partial<EventInput> & Pick<EventInput, 'eventType' | 'body'>,
): EventInput => ({
  stream: 'account_events',
  pathValues: [],
  now,
  randomUuid: () => `00000000-0000-4000-8000-${String(++uuids).padStart(12, '0')}`,
  ...partial,
});
/** The details of the AevonError `run` throws. */
const failure = (run: () => unknown): { code: string; details: unknown } => {
  try {
    run();
  } catch (error) {
    if (isAevonError(error)) return { code: error.code, details: error.details };
    throw error;
  }
  throw new Error('expected an error');
};
const dataError = (field: string, reason: string, eventType = 'account_created') => ({
  code: 'AEV_EVENT_DATA_INVALID',
  details: { stream: 'account_events', eventType, field, reason },
});

describe('validateEventInput on the seed', () => {
  it('validates the first POST: keys to generate, missing fields null', () => {
    const result = validateEventInput(
      seed,
      input({
        eventType: 'account_created',
        body: {
          name: 'test account',
          billing_first_name: 'Bob',
          billing_last_name: 'Test',
          send_notification: true,
        },
      }),
    );
    expect(result).toEqual({
      stream: 'account_events',
      eventType: 'account_created',
      schemaVersion: 1,
      data: {
        name: 'test account',
        created_at: null,
        billing_first_name: 'Bob',
        billing_last_name: 'Test',
        send_notification: true,
      },
      keysToGenerate: [
        { field: 'id', aggregate: 'account', column: 'id' },
        { field: 'billing_id', aggregate: 'billing_contact', column: 'id' },
      ],
    });
  });

  it('validates the second POST: the path value and the account_id alias agree', () => {
    const result = validateEventInput(
      seed,
      input({
        eventType: 'account_name_updated',
        pathValues: ['123'],
        body: { account_id: 123, name: 'test account 2' },
      }),
    );
    expect(result.data).toEqual({ id: 123, name: 'test account 2' });
    expect(result.keysToGenerate).toEqual([]);
  });

  it('takes the key from the path alone, from the body alone, or from the alias alone', () => {
    const ofName = (body: object, pathValues: string[] = []) =>
      validateEventInput(seed, input({ eventType: 'account_name_updated', pathValues, body })).data;
    expect(ofName({ name: 'n' }, ['7'])).toEqual({ id: 7, name: 'n' });
    expect(ofName({ id: 7, name: 'n' })).toEqual({ id: 7, name: 'n' });
    expect(ofName({ account_id: 7, name: 'n' })).toEqual({ id: 7, name: 'n' });
    expect(ofName({ id: 7, account_id: 7, name: 'n' }, ['7'])).toEqual({ id: 7, name: 'n' });
  });

  it('keeps explicit keys of creates fields', () => {
    const result = validateEventInput(
      seed,
      input({
        eventType: 'account_created',
        pathValues: ['5'],
        body: { billing_id: 9, name: 'n', send_notification: false },
      }),
    );
    expect(result.data).toMatchObject({ id: 5, billing_id: 9 });
    expect(result.keysToGenerate).toEqual([]);
  });

  it('generates a serial key sent as null, like one left out', () => {
    const result = validateEventInput(
      seed,
      input({
        eventType: 'account_created',
        body: { id: null, billing_id: 4, name: 'n', send_notification: true },
      }),
    );
    expect(result.keysToGenerate).toEqual([{ field: 'id', aggregate: 'account', column: 'id' }]);
    expect(Object.keys(result.data)).not.toContain('id');
    expect(result.data.billing_id).toBe(4);
  });

  it.each([
    [{ eventType: 'account_created', body: [] }, dataError('$body', 'must be a JSON object')],
    [{ eventType: 'account_created', body: null }, dataError('$body', 'must be a JSON object')],
    [{ eventType: 'nope', body: {} }, dataError('$type', 'is not a defined event type', 'nope')],
    [
      { eventType: 'account_created', body: { name: 'n', send_notification: true, extra: 1 } },
      dataError('extra', 'is not a field of event type "account_created"'),
    ],
    [
      { eventType: 'account_created', body: { name: 'x'.repeat(41), send_notification: true } },
      dataError('name', 'must be at most 40 characters'),
    ],
    [
      { eventType: 'account_created', body: { name: 'n' } },
      dataError('send_notification', 'must not be null'),
    ],
    [
      { eventType: 'account_created', body: { name: 'n', send_notification: 'yes' } },
      dataError('send_notification', 'must be true or false'),
    ],
    [
      { eventType: 'account_name_updated', body: { name: 'n' } },
      dataError('id', 'is required: it names the account row (account.id)', 'account_name_updated'),
    ],
    [
      { eventType: 'account_name_updated', pathValues: ['1', '2'], body: { name: 'n' } },
      dataError(
        '$path',
        'has 2 values; the path "/accounts/{id}" takes at most 1',
        'account_name_updated',
      ),
    ],
    [
      { eventType: 'account_name_updated', pathValues: ['abc'], body: { name: 'n' } },
      dataError(
        '$path',
        '{id} must be an integer between -2147483648 and 2147483647',
        'account_name_updated',
      ),
    ],
    [
      { eventType: 'account_name_updated', pathValues: ['123'], body: { account_id: 124 } },
      dataError(
        '$path',
        '{id} is "123" but the body\'s "account_id" is 124',
        'account_name_updated',
      ),
    ],
    [
      { eventType: 'account_name_updated', body: { id: 1, account_id: 2 } },
      dataError('id', 'disagrees with "account_id"', 'account_name_updated'),
    ],
    [
      { eventType: 'account_name_updated', body: { account_id: 'x' } },
      dataError(
        'account_id',
        'must be an integer between -2147483648 and 2147483647',
        'account_name_updated',
      ),
    ],
  ] as const)('refuses %j', (partial, expected) => {
    expect(failure(() => validateEventInput(seed, input(partial)))).toEqual(expected);
  });

  it('refuses an unknown stream definition as not found', () => {
    expect(
      failure(() =>
        validateEventInput(seed, input({ stream: 'x', eventType: 'account_created', body: {} })),
      ),
    ).toEqual({ code: 'AEV_NOT_FOUND', details: { resource: 'stream definition "x"' } });
  });

  it('refuses an event type the stream does not list', () => {
    const state = applyDefinitionsChange(seed, {
      ddl: 'CREATE EVENT_TYPE other (id integer)',
    }).state;
    expect(
      failure(() => validateEventInput(state, input({ eventType: 'other', body: {} }))),
    ).toEqual(dataError('$type', 'is not an event type of stream "account_events"', 'other'));
  });
});

describe('validateEventInput defaults and keys', () => {
  const state = define(`
    CREATE AGGREGATE doc (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), title text, n integer UNIQUE);
    CREATE AGGREGATE item (code varchar(8) PRIMARY KEY, doc_n integer references doc(n));
    CREATE EVENT_TYPE doc_added (
      id creates doc(id),
      title updates doc(title),
      at timestamptz NOT NULL DEFAULT now(),
      tags text[] DEFAULT '{a,b}',
      priority integer DEFAULT 3
    );
    CREATE EVENT_TYPE item_added (code creates item(code), doc_n updates item(doc_n));
    CREATE EVENT_TYPE doc_touched (id references doc(id), n references doc(n), title updates doc(title));
    CREATE STREAM docs (path "/docs/{id}" event_types (doc_added));
    CREATE STREAM items (path "/items/{code}" event_types (item_added));
    CREATE STREAM touches (path "/touches" event_types (doc_touched));
  `);
  const docs = (body: object, extra: Partial<EventInput> = {}) =>
    validateEventInput(state, input({ stream: 'docs', eventType: 'doc_added', body, ...extra }));

  it('evaluates field defaults at now and a non-serial creates key from the column DEFAULT', () => {
    uuids = 0;
    expect(docs({ title: 'T' })).toEqual({
      stream: 'docs',
      eventType: 'doc_added',
      schemaVersion: 1,
      data: {
        id: '00000000-0000-4000-8000-000000000001',
        title: 'T',
        at: '2024-05-01T10:00:00Z',
        tags: ['a', 'b'],
        priority: 3,
      },
      keysToGenerate: [],
    });
  });

  it('keeps an explicit null over a DEFAULT, and refuses it for NOT NULL', () => {
    expect(docs({ priority: null }).data.priority).toBeNull();
    expect(failure(() => docs({ at: null }))).toEqual({
      code: 'AEV_EVENT_DATA_INVALID',
      details: { stream: 'docs', eventType: 'doc_added', field: 'at', reason: 'must not be null' },
    });
  });

  it('coerces path values to the field type (uuid lower-cased)', () => {
    const id = 'AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA';
    expect(docs({}, { pathValues: [id] }).data.id).toBe(id.toLowerCase());
    expect(docs({ id: id.toLowerCase() }, { pathValues: [id] }).data.id).toBe(id.toLowerCase());
  });

  it('requires a non-serial creates key without DEFAULT', () => {
    expect(
      failure(() =>
        validateEventInput(state, input({ stream: 'items', eventType: 'item_added', body: {} })),
      ),
    ).toEqual({
      code: 'AEV_EVENT_DATA_INVALID',
      details: {
        stream: 'items',
        eventType: 'item_added',
        field: 'code',
        reason: 'is required: it is the key of the new item row',
      },
    });
  });

  it('uses the alias only when no real field has the name, and refuses an ambiguous one', () => {
    const ID = '00000000-0000-4000-8000-00000000000a';
    const touched = validateEventInput(
      state,
      input({
        stream: 'touches',
        eventType: 'doc_touched',
        body: { doc_id: ID, doc_n: 4, doc_title: 'x' },
      }),
    );
    expect(touched.data).toEqual({ id: ID, n: 4, title: 'x' });
    // item_added has a real field doc_n: it is that field, not an alias of anything.
    const item = validateEventInput(
      state,
      input({ stream: 'items', eventType: 'item_added', body: { code: 'c', doc_n: 4 } }),
    );
    expect(item.data).toEqual({ code: 'c', doc_n: 4 });
    const twice = define(`
      CREATE AGGREGATE a (id integer PRIMARY KEY, x text);
      CREATE EVENT_TYPE e (id references a(id), x1 updates a(x), x2 updates a(x));
      CREATE STREAM s (path "/s" event_types (e));
    `);
    expect(
      failure(() =>
        validateEventInput(
          twice,
          input({ stream: 's', eventType: 'e', body: { id: 1, a_x: 'v' } }),
        ),
      ),
    ).toEqual({
      code: 'AEV_EVENT_DATA_INVALID',
      details: {
        stream: 's',
        eventType: 'e',
        field: 'a_x',
        reason: 'is ambiguous: fields "x1", "x2" link it',
      },
    });
  });

  it('reports the schema version of the event type', () => {
    const altered = applyDefinitionsChange(state, {
      ddl: 'ALTER EVENT_TYPE doc_added ADD FIELD note text',
    }).state;
    expect(
      validateEventInput(altered, input({ stream: 'docs', eventType: 'doc_added', body: {} }))
        .schemaVersion,
    ).toBe(2);
  });
});

describe('streamIdFor', () => {
  const state = define(`
    CREATE EVENT_TYPE e (a text, b integer, c numeric, d jsonb, e boolean);
    CREATE STREAM s (path "/x/{a}/y/{b}" event_types (e));
    CREATE STREAM t (path "/t/{c}/{e}" event_types (e));
    CREATE STREAM u (path "/u/{d}" event_types (e));
  `);
  it('fills the path with canonical text', () => {
    expect(streamIdFor(seed.catalog, 'account_events', { id: 1 })).toBe('/accounts/1');
    expect(streamIdFor(state.catalog, 's', { a: 'hello world', b: -3 })).toBe(
      '/x/hello world/y/-3',
    );
    expect(streamIdFor(state.catalog, 't', { c: '1.50', e: false })).toBe('/t/1.50/false');
  });
  it.each([
    ['s', { a: 'a/b', b: 1 }, '{a} must not contain "/": "a/b"'],
    ['s', { a: '', b: 1 }, '{a} must not be empty'],
    ['s', { a: 'x', b: null }, '{b} has no value'],
    ['s', { a: 'x' }, '{b} has no value'],
    ['s', { a: 'x\n', b: 1 }, '{a} must not contain control characters'],
    ['s', { a: 'x'.repeat(600), b: 1 }, 'the stream id must be at most 512 characters'],
    ['u', { d: { k: 1 } }, '{d} must be a single value, not {"k":1}'],
  ] as const)('%s refuses %j', (stream, data, reason) => {
    expect(failure(() => streamIdFor(state.catalog, stream, data))).toEqual({
      code: 'AEV_EVENT_DATA_INVALID',
      details: { stream, eventType: '', field: '$path', reason },
    });
  });
  it('refuses an unknown stream definition', () => {
    expect(failure(() => streamIdFor(state.catalog, 'nope', {})).code).toBe('AEV_NOT_FOUND');
  });
});

describe('validateEventInput key sources', () => {
  const state = define(`
    CREATE AGGREGATE ledger (id bigint PRIMARY KEY, label text);
    CREATE AGGREGATE tag (id integer PRIMARY KEY);
    CREATE EVENT_TYPE opened (id creates ledger(id), label updates ledger(label));
    CREATE EVENT_TYPE tagged (id integer DEFAULT 7 creates tag(id));
    CREATE STREAM ledgers (path "/ledgers/{id}/{label}" event_types (opened));
    CREATE STREAM tags (path "/tags" event_types (tagged));
  `);
  it('reads a bigint path value beyond 2^53 exactly', () => {
    const result = validateEventInput(
      state,
      input({
        stream: 'ledgers',
        eventType: 'opened',
        pathValues: ['9007199254740993', 'x'],
        body: {},
      }),
    );
    expect(result.data).toEqual({ id: '9007199254740993', label: 'x' });
  });
  it('fills fewer path values than placeholders, and requires the rest', () => {
    expect(
      failure(() =>
        validateEventInput(
          state,
          input({ stream: 'ledgers', eventType: 'opened', pathValues: ['1'], body: {} }),
        ),
      ),
    ).toEqual({
      code: 'AEV_EVENT_DATA_INVALID',
      details: {
        stream: 'ledgers',
        eventType: 'opened',
        field: 'label',
        reason: 'is required: the stream path "/ledgers/{id}/{label}" uses it',
      },
    });
  });
  it('gives a non-serial creates key its field DEFAULT first', () => {
    expect(
      validateEventInput(state, input({ stream: 'tags', eventType: 'tagged', body: {} })).data,
    ).toEqual({ id: 7 });
  });
});
