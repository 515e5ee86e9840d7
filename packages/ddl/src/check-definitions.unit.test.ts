// Goal: checkDefinitions accepts a consistent schema and its compatible changes, and rejects each kind of
// inconsistency with the position of the element at fault. Method: a base schema, then a table of statements that
// must each fail against it with an exact line, column and reason; and ALTER sequences with their impacts.
import { isAevonError } from '@aevon/core';
import { describe, expect, it } from 'vitest';
import { checkDefinitions, columnType, fieldType, parseDdl } from './index.js';
import { stripPositions } from './strip-positions.fixture.js';

const base =
  parseDdl(`CREATE AGGREGATE account (id serial PRIMARY KEY, name varchar(40) NOT NULL, email text UNIQUE, n numeric(10,2));
CREATE AGGREGATE contact (id bigserial PRIMARY KEY, account_id references account(id), first text);
CREATE EVENT_TYPE opened (id creates account(id), name updates account(name), note text);
CREATE EVENT_TYPE renamed (id references account(id), name updates account(name));
CREATE STREAM accounts (path '/accounts/{id}', event_types (opened, renamed));
`);

const check = (text: string) => checkDefinitions([...base, ...parseDdl(text)]);

/** [statements after the base schema, line, column, reason]. */
const badSchemas: readonly (readonly [string, number, number, string])[] = [
  ['CREATE AGGREGATE account (id serial PRIMARY KEY)', 1, 1, 'aggregate "account" already exists'],
  ['CREATE EVENT_TYPE opened (id integer)', 1, 1, 'event type "opened" already exists'],
  [
    "CREATE STREAM accounts (path '/x', event_types (opened))",
    1,
    1,
    'stream "accounts" already exists',
  ],
  ['CREATE EVENT_TYPE e (id creates nope(id))', 1, 33, 'aggregate "nope" does not exist'],
  [
    'CREATE EVENT_TYPE e (id creates account(nope))',
    1,
    33,
    'column "nope" does not exist in aggregate "account"',
  ],
  [
    'CREATE EVENT_TYPE e (x creates account(name))',
    1,
    22,
    'field "x" creates account(name), which is not the primary key',
  ],
  [
    'CREATE EVENT_TYPE e (id text creates account(id))',
    1,
    22,
    'field "id" is text but creates account(id) of type integer',
  ],
  [
    'CREATE EVENT_TYPE e (id bigint creates account(id))',
    1,
    22,
    'field "id" is bigint but creates account(id) of type integer',
  ],
  [
    'CREATE EVENT_TYPE e (id integer creates account(id), name varchar(50) updates account(name))',
    1,
    54,
    'field "name" is varchar(50) but updates account(name) of type varchar(40)',
  ],
  [
    'CREATE EVENT_TYPE e (name updates account(name))',
    1,
    22,
    'field "name" updates aggregate "account", but no field of event type "e" creates or references its primary key',
  ],
  [
    'CREATE EVENT_TYPE e (id references account(id), id2 references account(id))',
    1,
    49,
    'fields "id" and "id2" both identify a row of aggregate "account"',
  ],
  [
    'CREATE EVENT_TYPE e (id references account(id), x updates account(id))',
    1,
    49,
    'field "x" updates account(id), the primary key',
  ],
  [
    'CREATE EVENT_TYPE e (x references account(name))',
    1,
    22,
    'field "x" references account(name), which is neither PRIMARY KEY nor UNIQUE',
  ],
  [
    'CREATE EVENT_TYPE e (id references account(id), n updates account(n) DEFAULT 123456789.5)',
    1,
    49,
    'field "n": DEFAULT 123456789.5 does not fit type numeric(10,2): a numeric(10,2) holds values below 10^8',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, c references contact(first))',
    1,
    45,
    'column a.c references contact(first), which is neither PRIMARY KEY nor UNIQUE',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, c text references account(id))',
    1,
    45,
    'column a.c is text but references account(id) of type integer',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, c references nope(id))',
    1,
    45,
    'aggregate "nope" does not exist',
  ],
  [
    "CREATE AGGREGATE a (id integer PRIMARY KEY, c references account(id) DEFAULT 'x')",
    1,
    45,
    'column "c": DEFAULT \'x\' does not fit type integer: expected an integer',
  ],
  [
    "CREATE STREAM s (path '/a/{nope}', event_types (opened))",
    1,
    1,
    'stream "s": path field {nope} is not a field of event type "opened"',
  ],
  [
    "CREATE STREAM s (path '/a/{note}', event_types (opened, renamed))",
    1,
    1,
    'stream "s": path field {note} is not a field of event type "renamed"',
  ],
  [
    "CREATE STREAM s (path '/a', event_types (nope))",
    1,
    1,
    'stream "s": event type "nope" does not exist',
  ],
  [
    'DROP AGGREGATE account',
    1,
    1,
    'cannot drop aggregate "account": column contact.account_id references it, field opened.id creates it, field opened.name updates it, field renamed.id references it, field renamed.name updates it',
  ],
  [
    'DROP AGGREGATE contact; DROP AGGREGATE account',
    1,
    25,
    'cannot drop aggregate "account": field opened.id creates it, field opened.name updates it, field renamed.id references it, field renamed.name updates it',
  ],
  ['DROP EVENT_TYPE opened', 1, 1, 'cannot drop event type "opened": stream "accounts" lists it'],
  ['DROP STREAM nope', 1, 1, 'stream "nope" does not exist'],
  ['DROP AGGREGATE nope', 1, 1, 'aggregate "nope" does not exist'],
  ['ALTER AGGREGATE nope ADD COLUMN x text', 1, 1, 'aggregate "nope" does not exist'],
  [
    'ALTER AGGREGATE account ADD COLUMN name text',
    1,
    25,
    'column "name" already exists in aggregate "account"',
  ],
  [
    'ALTER AGGREGATE account ADD COLUMN k integer PRIMARY KEY',
    1,
    25,
    'aggregate "account" has a primary key already; ADD COLUMN cannot add another',
  ],
  [
    'ALTER AGGREGATE account ADD COLUMN k integer NOT NULL',
    1,
    25,
    'column "k" is NOT NULL without a DEFAULT: rows already derived would have no value',
  ],
  ['ALTER AGGREGATE account DROP COLUMN id', 1, 25, 'cannot drop the primary key column "id"'],
  [
    'ALTER AGGREGATE account DROP COLUMN name',
    1,
    25,
    'cannot drop column "name": field opened.name updates it, field renamed.name updates it',
  ],
  [
    'ALTER AGGREGATE account DROP COLUMN nope',
    1,
    25,
    'column "nope" does not exist in aggregate "account"',
  ],
  [
    'ALTER AGGREGATE account ALTER COLUMN id TYPE bigint',
    1,
    25,
    'cannot change the type of the primary key column "id"',
  ],
  [
    "ALTER AGGREGATE account ALTER COLUMN name SET DEFAULT 'a name that is far longer than forty characters'",
    1,
    25,
    'column "name": DEFAULT \'a name that is far longer than forty characters\' does not fit type varchar(40): 47 characters, at most 40',
  ],
  [
    'ALTER AGGREGATE account ALTER COLUMN id DROP NOT NULL',
    1,
    25,
    'the primary key column "id" stays NOT NULL',
  ],
  [
    'ALTER EVENT_TYPE opened ADD FIELD note text',
    1,
    25,
    'field "note" already exists in event type "opened"',
  ],
  [
    'ALTER EVENT_TYPE opened ADD FIELD c creates contact(id)',
    1,
    25,
    'field "c": an added field cannot create rows that old events never created',
  ],
  [
    'ALTER EVENT_TYPE opened DROP FIELD id',
    1,
    25,
    'cannot drop field "id": the path "/accounts/{id}" of stream "accounts" uses it',
  ],
  [
    'ALTER EVENT_TYPE renamed DROP FIELD id',
    1,
    26,
    'cannot drop field "id": the path "/accounts/{id}" of stream "accounts" uses it',
  ],
  [
    'ALTER EVENT_TYPE opened ALTER FIELD nope SET NOT NULL',
    1,
    25,
    'field "nope" does not exist in event type "opened"',
  ],
  [
    'ALTER STREAM accounts ADD EVENT_TYPE opened',
    1,
    23,
    'stream "accounts" already lists event type "opened"',
  ],
  [
    'ALTER STREAM accounts DROP EVENT_TYPE nope',
    1,
    23,
    'stream "accounts" does not list event type "nope"',
  ],
  [
    'CREATE EVENT_TYPE z (x integer); ALTER STREAM accounts ADD EVENT_TYPE z',
    1,
    56,
    'stream "accounts": path field {id} is not a field of event type "z"',
  ],
  [
    "CREATE STREAM one (path '/', event_types (opened)); ALTER STREAM one DROP EVENT_TYPE opened",
    1,
    70,
    'stream "one" would have no event types left; drop the stream instead',
  ],
  [
    'ALTER EVENT_TYPE opened ALTER FIELD note SET DEFAULT 1',
    1,
    25,
    'field "note": DEFAULT 1 does not fit type text: expected a string',
  ],
  [
    'CREATE EVENT_TYPE t (id references account(id), name updates account(name));\nALTER EVENT_TYPE t DROP FIELD id',
    2,
    20,
    'field "name" updates aggregate "account", but no field of event type "t" creates or references its primary key',
  ],
  [
    'ALTER EVENT_TYPE renamed ALTER FIELD name TYPE integer',
    1,
    26,
    'field "name" is integer but updates account(name) of type varchar(40)',
  ],
  [
    'CREATE EVENT_TYPE t (id references account(id), nm varchar(40) updates account(name));\nALTER AGGREGATE account ALTER COLUMN name TYPE varchar(10)',
    2,
    25,
    'field "nm" is varchar(40) but updates account(name) of type varchar(10)',
  ],
];

describe('checkDefinitions', () => {
  it('accepts the base schema and types columns and fields from what they reference', () => {
    const { catalog, warnings } = checkDefinitions(base);
    expect(warnings).toEqual([]);
    const contact = catalog.aggregates.get('contact');
    const accountId = contact?.columns.find((c) => c.name === 'account_id');
    expect(accountId && columnType(catalog, 'contact', accountId)).toEqual({ name: 'integer' });
    const opened = catalog.eventTypes.get('opened');
    expect(opened?.fields.map((f) => fieldType(catalog, f))).toEqual([
      { name: 'integer' },
      { name: 'varchar', length: 40 },
      { name: 'text' },
    ]);
  });

  it.each(badSchemas)('rejects %j at line %i, column %i', (text, line, column, reason) => {
    let caught: unknown;
    try {
      check(text);
    } catch (error) {
      caught = error;
    }
    expect(isAevonError(caught, 'AEV_DDL_INVALID')).toBe(true);
    expect((caught as { details: unknown }).details).toEqual({ reason, line, column });
  });

  it('classifies each change and counts versions', () => {
    const result = check(`
      ALTER EVENT_TYPE opened ADD FIELD source text, ADD FIELD channel text NOT NULL DEFAULT 'web';
      ALTER EVENT_TYPE opened ADD FIELD region text NOT NULL;
      ALTER EVENT_TYPE renamed ALTER FIELD name TYPE varchar(20);
      ALTER EVENT_TYPE opened ALTER FIELD note SET DEFAULT 'none', ALTER note DROP DEFAULT, ALTER note SET NOT NULL;
      ALTER AGGREGATE account ADD COLUMN plan text NOT NULL DEFAULT 'free';
      ALTER AGGREGATE account ALTER COLUMN email TYPE varchar(200);
      ALTER AGGREGATE account ALTER COLUMN name TYPE text;
      ALTER AGGREGATE account ALTER COLUMN plan SET DEFAULT 'pro', ALTER plan DROP NOT NULL;
      ALTER STREAM accounts DROP EVENT_TYPE renamed, ADD EVENT_TYPE renamed;
      DROP STREAM accounts; DROP EVENT_TYPE renamed; DROP STREAM IF EXISTS accounts;
      CREATE STREAM accounts (path '/accounts/{id}', event_types (opened))`);
    expect(result.changes.slice(base.length).map((c) => [c.impact, c.version])).toEqual([
      ['compatible', 2],
      ['upcaster', 3],
      ['upcaster', 2],
      ['upcaster', 4],
      ['rebuild', 2],
      ['rebuild', 3],
      ['upcaster', 4],
      ['compatible', 5],
      ['compatible', 2],
      ['drop', undefined],
      ['drop', undefined],
      ['none', undefined],
      ['new', 1],
    ]);
    const account = result.catalog.aggregates.get('account');
    expect(
      stripPositions(account?.columns.map((c) => [c.name, c.type, c.notNull, c.default])),
    ).toEqual([
      ['id', { name: 'serial' }, undefined, undefined],
      ['name', { name: 'text' }, true, undefined],
      ['email', { name: 'varchar', length: 200 }, undefined, undefined],
      ['n', { name: 'numeric', precision: 10, scale: 2 }, undefined, undefined],
      [
        'plan',
        { name: 'text' },
        undefined,
        { kind: 'literal', literal: { kind: 'string', value: 'pro' } },
      ],
    ]);
    expect(result.catalog.eventTypes.get('opened')?.fields.map((f) => f.name)).toEqual([
      'id',
      'name',
      'note',
      'source',
      'channel',
      'region',
    ]);
    expect([...result.versions]).toEqual([
      ['aggregate:account', 5],
      ['aggregate:contact', 1],
      ['event_type:opened', 4],
      ['stream:accounts', 1],
    ]);
  });

  it('allows a self-reference and a drop once nothing uses a definition', () => {
    const result = checkDefinitions(
      parseDdl(`CREATE AGGREGATE node (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), parent references node(id));
        CREATE AGGREGATE leaf (id integer PRIMARY KEY, node_id uuid references node(id));
        DROP AGGREGATE leaf; DROP AGGREGATE node`),
    );
    expect(result.catalog.aggregates.size).toBe(0);
  });

  it('continues from a catalog given as the base', () => {
    const first = checkDefinitions(base);
    const second = checkDefinitions(
      parseDdl('ALTER EVENT_TYPE opened DROP FIELD note'),
      first.catalog,
      first.versions,
    );
    expect(second.changes.map((c) => [c.impact, c.version])).toEqual([['compatible', 2]]);
    expect(() =>
      checkDefinitions(
        parseDdl('CREATE AGGREGATE account (id integer PRIMARY KEY)'),
        first.catalog,
      ),
    ).toThrow(/aggregate "account" already exists/);
  });
});
