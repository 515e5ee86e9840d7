// Goal: the parser accepts the DDL the reference documents and rejects everything else with a message that says
// where (line, column) and what was expected. Method: good inputs compared with their expected model; a table of bad
// inputs with the exact line, column and reason of the AEV_DDL_INVALID error each must raise.
import { isAevonError } from '@aevon/core';
import { describe, expect, it } from 'vitest';
import { formatDdlError, parseDataType, parseDdl } from './index.js';
import { stripPositions } from './strip-positions.fixture.js';

const parse = (text: string) => stripPositions(parseDdl(text));

describe('parseDdl: good input', () => {
  it('reads several statements, comments, any keyword case, quoted names and a missing final semicolon', () => {
    const text = `-- leading comment
      create Aggregate "Order" ( /* block
      comment */ "Id" BIGSERIAL primary key, Note TEXT DEFAULT 'it''s' );;
      CREATE EVENT TYPE placed (id CREATES "Order"("Id"), note updates "Order"(note) NOT NULL);
      create stream orders (event_types (placed), path '/orders/{id}',)`;
    expect(parse(text)).toEqual([
      {
        kind: 'aggregate',
        name: 'Order',
        columns: [
          { name: 'Id', type: { name: 'bigserial' }, primaryKey: true },
          {
            name: 'note',
            type: { name: 'text' },
            default: { kind: 'literal', literal: { kind: 'string', value: "it's" } },
          },
        ],
      },
      {
        kind: 'event_type',
        name: 'placed',
        fields: [
          { name: 'id', link: { kind: 'creates', aggregate: 'Order', column: 'Id' } },
          {
            name: 'note',
            link: { kind: 'updates', aggregate: 'Order', column: 'note' },
            notNull: true,
          },
        ],
      },
      { kind: 'stream', name: 'orders', path: '/orders/{id}', eventTypes: ['placed'] },
    ]);
  });

  it('gives positions of statements, columns and references', () => {
    const [statement] = parseDdl(
      '\n  CREATE AGGREGATE a (\n\tid integer PRIMARY KEY,\n  b integer REFERENCES a(id))',
    );
    expect(statement).toMatchObject({
      at: { line: 2, column: 3 },
      columns: [
        { at: { line: 3, column: 2 } },
        { at: { line: 4, column: 3 }, references: { at: { line: 4, column: 24 } } },
      ],
    });
  });

  it('returns no statements for empty text, comments or lone semicolons', () => {
    expect(parseDdl('')).toEqual([]);
    expect(parseDdl(' -- nothing\n /* at all */ ;; ')).toEqual([]);
  });

  it.each([
    ['smallint', { name: 'smallint' }],
    ['INT2', { name: 'smallint' }],
    ['int', { name: 'integer' }],
    ['int4', { name: 'integer' }],
    ['integer', { name: 'integer' }],
    ['int8', { name: 'bigint' }],
    ['bigint', { name: 'bigint' }],
    ['serial', { name: 'serial' }],
    ['serial8', { name: 'bigserial' }],
    ['smallserial', { name: 'smallserial' }],
    ['numeric', { name: 'numeric' }],
    ['decimal(10)', { name: 'numeric', precision: 10 }],
    ['numeric(10, 2)', { name: 'numeric', precision: 10, scale: 2 }],
    ['numeric(3,-2)', { name: 'numeric', precision: 3, scale: -2 }],
    ['real', { name: 'real' }],
    ['float4', { name: 'real' }],
    ['double precision', { name: 'double precision' }],
    ['float8', { name: 'double precision' }],
    ['bool', { name: 'boolean' }],
    ['text', { name: 'text' }],
    ['varchar', { name: 'varchar' }],
    ['character varying(12)', { name: 'varchar', length: 12 }],
    ['char', { name: 'char' }],
    ['character(3)', { name: 'char', length: 3 }],
    ['uuid', { name: 'uuid' }],
    ['date', { name: 'date' }],
    ['timestamp', { name: 'timestamp' }],
    ['timestamp(3) without time zone', { name: 'timestamp', precision: 3 }],
    ['timestamp with time zone', { name: 'timestamptz' }],
    ['timestamptz(0)', { name: 'timestamptz', precision: 0 }],
    ['jsonb', { name: 'jsonb' }],
    ['text[]', { name: 'text', array: true }],
    ['numeric(5,1)[]', { name: 'numeric', precision: 5, scale: 1, array: true }],
  ])('reads the type %s', (text, expected) => {
    expect(parseDataType(text)).toEqual(expected);
  });

  it('reads every DEFAULT form', () => {
    const [aggregate] = parse(`CREATE AGGREGATE d (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      a integer DEFAULT -42, b numeric(6,2) DEFAULT +1234.5, c double precision DEFAULT 1.5e3,
      e boolean DEFAULT TRUE, f text DEFAULT NULL, g date DEFAULT CURRENT_DATE,
      h timestamptz DEFAULT current_timestamp, i timestamp DEFAULT '2024-01-31 12:00:00',
      j jsonb NOT NULL DEFAULT '{"a": [1]}', k text[] DEFAULT '{}', l date DEFAULT '2024-02-29'
    )`);
    const defaults = (aggregate as unknown as { columns: { default?: unknown }[] }).columns.map(
      (c) => c.default,
    );
    expect(defaults).toEqual([
      { kind: 'function', name: 'gen_random_uuid' },
      { kind: 'literal', literal: { kind: 'number', text: '-42' } },
      { kind: 'literal', literal: { kind: 'number', text: '1234.5' } },
      { kind: 'literal', literal: { kind: 'number', text: '1.5e3' } },
      { kind: 'literal', literal: { kind: 'boolean', value: true } },
      { kind: 'literal', literal: { kind: 'null' } },
      { kind: 'function', name: 'current_date' },
      { kind: 'function', name: 'current_timestamp' },
      { kind: 'literal', literal: { kind: 'string', value: '2024-01-31 12:00:00' } },
      { kind: 'literal', literal: { kind: 'string', value: '{"a": [1]}' } },
      { kind: 'literal', literal: { kind: 'string', value: '{}' } },
      { kind: 'literal', literal: { kind: 'string', value: '2024-02-29' } },
    ]);
  });

  it('reads DROP and every ALTER form', () => {
    expect(
      parse(`DROP AGGREGATE IF EXISTS a; DROP EVENT_TYPE e; DROP STREAM s;
        ALTER AGGREGATE a ADD COLUMN n text, ADD m integer NOT NULL DEFAULT 0, DROP COLUMN o, DROP p,
          ALTER COLUMN q TYPE bigint, ALTER r SET DATA TYPE text, ALTER q SET DEFAULT 1, ALTER q DROP DEFAULT,
          ALTER q SET NOT NULL, ALTER q DROP NOT NULL;
        ALTER EVENT_TYPE e ADD FIELD f boolean DEFAULT false, ADD g references a(id), DROP FIELD h,
          ALTER FIELD f TYPE text, ALTER f SET NOT NULL;
        ALTER STREAM s ADD EVENT_TYPE e, DROP EVENT TYPE x`),
    ).toEqual([
      { kind: 'drop', target: 'aggregate', name: 'a', ifExists: true },
      { kind: 'drop', target: 'event_type', name: 'e' },
      { kind: 'drop', target: 'stream', name: 's' },
      {
        kind: 'alter_aggregate',
        name: 'a',
        actions: [
          { action: 'add_column', column: { name: 'n', type: { name: 'text' } } },
          {
            action: 'add_column',
            column: {
              name: 'm',
              type: { name: 'integer' },
              notNull: true,
              default: { kind: 'literal', literal: { kind: 'number', text: '0' } },
            },
          },
          { action: 'drop_column', column: 'o' },
          { action: 'drop_column', column: 'p' },
          { action: 'set_type', column: 'q', type: { name: 'bigint' } },
          { action: 'set_type', column: 'r', type: { name: 'text' } },
          {
            action: 'set_default',
            column: 'q',
            default: { kind: 'literal', literal: { kind: 'number', text: '1' } },
          },
          { action: 'drop_default', column: 'q' },
          { action: 'set_not_null', column: 'q' },
          { action: 'drop_not_null', column: 'q' },
        ],
      },
      {
        kind: 'alter_event_type',
        name: 'e',
        actions: [
          {
            action: 'add_field',
            field: {
              name: 'f',
              type: { name: 'boolean' },
              default: { kind: 'literal', literal: { kind: 'boolean', value: false } },
            },
          },
          {
            action: 'add_field',
            field: { name: 'g', link: { kind: 'references', aggregate: 'a', column: 'id' } },
          },
          { action: 'drop_field', field: 'h' },
          { action: 'set_type', field: 'f', type: { name: 'text' } },
          { action: 'set_not_null', field: 'f' },
        ],
      },
      {
        kind: 'alter_stream',
        name: 's',
        actions: [
          { action: 'add_event_type', eventType: 'e' },
          { action: 'drop_event_type', eventType: 'x' },
        ],
      },
    ]);
  });

  it('reads a keyword as a name where a name is expected, and a typed field with a link', () => {
    expect(
      parse('CREATE EVENT_TYPE "default" (type integer references account(id), "not" text)'),
    ).toEqual([
      {
        kind: 'event_type',
        name: 'default',
        fields: [
          {
            name: 'type',
            type: { name: 'integer' },
            link: { kind: 'references', aggregate: 'account', column: 'id' },
          },
          { name: 'not', type: { name: 'text' } },
        ],
      },
    ]);
  });
});

/** [text, line, column, reason]: the error each bad input must raise. */
const badInputs: readonly (readonly [string, number, number, string])[] = [
  ['CREATE TABLE x (id integer)', 1, 8, 'expected AGGREGATE, EVENT_TYPE or STREAM, found "table"'],
  ['CREATE AGGREGATE (id integer)', 1, 18, 'expected aggregate name, found "("'],
  ['CREATE AGGREGATE a id integer', 1, 20, 'expected "(", found "id"'],
  [
    'CREATE AGGREGATE a (\n  id integer PRIMARY KEY\n  name\n)',
    4,
    1,
    'expected a type for column "name", found ")"',
  ],
  [
    'CREATE AGGREGATE a (\n  id integer PRIMARY KEY,\n  name strng\n)',
    3,
    8,
    'expected a type, found "strng"',
  ],
  ['CREATE AGGREGATE a (id integer PRIMARY KEY', 1, 43, 'expected "," or ")", found end of input'],
  [
    "CREATE AGGREGATE a (id integer PRIMARY KEY) CREATE STREAM s (path '/', event_types (e))",
    1,
    45,
    'expected ";" or end of input, found "create"',
  ],
  [
    "CREATE AGGREGATE a (id integer PRIMARY KEY, n text DEFAULT 'x)",
    1,
    60,
    "unterminated string: expected ', found end of input",
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, /* open',
    1,
    45,
    'unterminated comment: expected "*/", found end of input',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n varchar(40 NOT NULL)',
    1,
    58,
    'expected ")", found "not"',
  ],
  ['CREATE AGGREGATE a (id integer PRIMARY, n text)', 1, 39, 'expected KEY, found ","'],
  ['CREATE AGGREGATE a (id integer PRIMARY KEY, n double)', 1, 53, 'expected PRECISION, found ")"'],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n integer DEFAULT foo())',
    1,
    63,
    'expected a default value (a literal, NOW(), CURRENT_TIMESTAMP, CURRENT_DATE or GEN_RANDOM_UUID()), found "foo"',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n integer DEFAULT -)',
    1,
    64,
    'expected a number, found ")"',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n integer NOT NULL NULL)',
    1,
    64,
    'conflicting or repeated NULL/NOT NULL for column "n"',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n integer creates b(c))',
    1,
    55,
    'expected a column constraint, found "creates" (it belongs to event type fields)',
  ],
  [
    'CREATE EVENT_TYPE e (id integer PRIMARY KEY)',
    1,
    33,
    'expected a field constraint, found "primary" (it belongs to aggregate columns)',
  ],
  [
    'CREATE EVENT_TYPE e (id creates a(id) references a(id))',
    1,
    39,
    'field "id" already names creates a(id); one link per field',
  ],
  [
    'CREATE STREAM s (path /accounts, event_types (e))',
    1,
    23,
    'expected a statement element, found unexpected character "/"',
  ],
  [
    "CREATE STREAM s (path '/a', event_types (e,, f))",
    1,
    44,
    'expected event type name, found ","',
  ],
  ["CREATE STREAM s (path '/a')", 1, 1, 'stream "s" needs EVENT_TYPES'],
  [
    "CREATE STREAM s (path '/a', path '/b', event_types (e))",
    1,
    29,
    'PATH given twice for stream "s"',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n integer) ; @',
    1,
    58,
    'expected a statement element, found unexpected character "@"',
  ],
  ['ALTER AGGREGATE a RENAME TO b', 1, 19, 'expected ADD, DROP or ALTER, found "rename"'],
  [
    'ALTER AGGREGATE a ALTER COLUMN n SET',
    1,
    37,
    'expected DATA TYPE, DEFAULT or NOT NULL, found end of input',
  ],
  ['ALTER STREAM s ADD e', 1, 20, 'expected EVENT_TYPE, found "e"'],
  ['DROP TABLE a', 1, 6, 'expected AGGREGATE, EVENT_TYPE or STREAM, found "table"'],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n numeric(10,)',
    1,
    58,
    'expected a scale, found ")"',
  ],
  ['CREATE AGGREGATE a (id integer PRIMARY KEY, n text[)', 1, 52, 'expected "]", found ")"'],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, 12abc integer)',
    1,
    47,
    'expected a separator after number 12, found "a"',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, id text)',
    1,
    45,
    'column "id" appears twice in aggregate "a"',
  ],
  ['CREATE AGGREGATE a (n text)', 1, 1, 'aggregate "a" needs a PRIMARY KEY column'],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, k integer PRIMARY KEY)',
    1,
    45,
    'aggregate "a" has a primary key already ("id"); composite keys are not supported',
  ],
  ['CREATE AGGREGATE a ()', 1, 1, 'aggregate "a" has no columns'],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n varchar(0))',
    1,
    47,
    'length for type varchar must be between 1 and 10485760, not 0',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n varchar(10485761))',
    1,
    47,
    'length for type varchar must be between 1 and 10485760, not 10485761',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n char(0))',
    1,
    47,
    'length for type char must be between 1 and 10485760, not 0',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n numeric(0))',
    1,
    47,
    'NUMERIC precision 0 must be between 1 and 1000',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n numeric(1001, 2))',
    1,
    47,
    'NUMERIC precision 1001 must be between 1 and 1000',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n numeric(10, 1001))',
    1,
    47,
    'NUMERIC scale 1001 must be between -1000 and 1000',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n timestamp(7))',
    1,
    47,
    'TIMESTAMP(7) precision must be between 0 and 6',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n serial[])',
    1,
    47,
    'array of serial is not supported',
  ],
  [
    "CREATE AGGREGATE a (id integer PRIMARY KEY, n integer DEFAULT 'x')",
    1,
    55,
    'column "n": DEFAULT \'x\' does not fit type integer: expected an integer',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n smallint DEFAULT 32768)',
    1,
    56,
    'column "n": DEFAULT 32768 does not fit type smallint: out of range -32768 to 32767',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n integer DEFAULT 1.5)',
    1,
    55,
    'column "n": DEFAULT 1.5 does not fit type integer: expected an integer',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n numeric(4,2) DEFAULT 123.4)',
    1,
    60,
    'column "n": DEFAULT 123.4 does not fit type numeric(4,2): a numeric(4,2) holds values below 10^2',
  ],
  [
    "CREATE AGGREGATE a (id integer PRIMARY KEY, n varchar(3) DEFAULT 'abcd')",
    1,
    58,
    'column "n": DEFAULT \'abcd\' does not fit type varchar(3): 4 characters, at most 3',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n boolean DEFAULT 1)',
    1,
    55,
    'column "n": DEFAULT 1 does not fit type boolean: expected TRUE or FALSE',
  ],
  [
    "CREATE AGGREGATE a (id integer PRIMARY KEY, n uuid DEFAULT 'nope')",
    1,
    52,
    'column "n": DEFAULT \'nope\' does not fit type uuid: expected a UUID string',
  ],
  [
    "CREATE AGGREGATE a (id integer PRIMARY KEY, n date DEFAULT '2024-02-30')",
    1,
    52,
    "column \"n\": DEFAULT '2024-02-30' does not fit type date: expected 'YYYY-MM-DD'",
  ],
  [
    "CREATE AGGREGATE a (id integer PRIMARY KEY, n jsonb DEFAULT '{x}')",
    1,
    53,
    'column "n": DEFAULT \'{x}\' does not fit type jsonb: expected a JSON string',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n text DEFAULT NOW())',
    1,
    52,
    'column "n": DEFAULT NOW() does not fit type text',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n timestamptz DEFAULT gen_random_uuid())',
    1,
    59,
    'column "n": DEFAULT GEN_RANDOM_UUID() does not fit type timestamptz',
  ],
  [
    'CREATE AGGREGATE a (id integer PRIMARY KEY, n text NOT NULL DEFAULT NULL)',
    1,
    61,
    'column "n": DEFAULT NULL contradicts NOT NULL',
  ],
  [
    'CREATE AGGREGATE a (id serial PRIMARY KEY DEFAULT 1)',
    1,
    43,
    'column "id": a serial column takes no DEFAULT (it has its own sequence)',
  ],
  [
    "CREATE STREAM s (path 'accounts/{id}', event_types (e))",
    1,
    23,
    'stream path "accounts/{id}" must start with "/"',
  ],
  [
    "CREATE STREAM s (path '/a//b', event_types (e))",
    1,
    23,
    'stream path "/a//b" has an empty segment',
  ],
  [
    "CREATE STREAM s (path '/a/{id}/{id}', event_types (e))",
    1,
    23,
    'stream path "/a/{id}/{id}" names {id} twice',
  ],
  [
    "CREATE STREAM s (path '/a/x{id}', event_types (e))",
    1,
    23,
    'stream path "/a/x{id}": segment "x{id}" must be plain text or a whole {field}',
  ],
  [
    "CREATE STREAM s (path '/a', event_types (e, e))",
    1,
    45,
    'stream "s" lists event type "e" twice',
  ],
  ['CREATE EVENT_TYPE e (a integer, a text)', 1, 33, 'field "a" appears twice in event type "e"'],
  [
    'CREATE AGGREGATE "" (id integer PRIMARY KEY)',
    1,
    18,
    'expected an identifier, found empty quoted identifier ""',
  ],
];

describe('parseDdl: bad input', () => {
  it.each(badInputs)('rejects %j at line %i, column %i', (text, line, column, reason) => {
    let caught: unknown;
    try {
      parseDdl(text);
    } catch (error) {
      caught = error;
    }
    expect(isAevonError(caught, 'AEV_DDL_INVALID')).toBe(true);
    const error = caught as { message: string; details: unknown };
    expect(error.details).toEqual({ reason, line, column });
    expect(error.message).toBe(`line ${line}, column ${column}: ${reason}`);
  });

  it('bounds the length of identifiers as PostgreSQL does', () => {
    expect(() => parseDdl(`DROP STREAM ${'s'.repeat(64)}`)).toThrow(/at most 63 are allowed/);
    expect(parseDdl(`DROP STREAM ${'s'.repeat(63)}`)).toHaveLength(1);
  });
});

describe('formatDdlError', () => {
  it('shows the offending line with a caret under the column', () => {
    const text = 'CREATE AGGREGATE a (\n\tid integer PRIMARY KEY,\n\tname strng\n)';
    let caught: unknown;
    try {
      parseDdl(text);
    } catch (error) {
      caught = error;
    }
    expect(formatDdlError(caught, text)).toBe(
      'line 3, column 7: expected a type, found "strng"\n3 | \tname strng\n    \t     ^',
    );
  });

  it('renders any other error as its message, and a type error with its caret', () => {
    expect(formatDdlError(new Error('boom'), 'x')).toBe('boom');
    let caught: unknown;
    try {
      parseDataType('varchar(0)');
    } catch (error) {
      caught = error;
    }
    expect(formatDdlError(caught, 'varchar(0)')).toBe(
      'line 1, column 1: length for type varchar must be between 1 and 10485760, not 0\n1 | varchar(0)\n    ^',
    );
  });
});
