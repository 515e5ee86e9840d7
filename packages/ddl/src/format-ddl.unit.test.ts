// Goal: formatDdl prints any statement the model can hold as text that parseDdl reads back to the same statement,
// so a definition can be stored or shown as DDL and nothing is lost. Method: fast-check generates statements that
// pass the per-statement checks (names that need quoting, every type, defaults that fit, every ALTER action);
// print, parse, and compare without positions.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDdl, parseDdl, quoteName } from './index.js';
import type {
  AggregateAlteration,
  ColumnDefinition,
  DataType,
  DefaultValue,
  EventTypeAlteration,
  FieldDefinition,
  Statement,
  StreamAlteration,
} from './index.js';
import { stripPositions } from './strip-positions.fixture.js';

const name: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^[a-z_][a-z0-9_$]{0,12}$/),
  fc.constantFrom(
    'Order',
    'default',
    'not',
    'column',
    'type',
    'with space',
    'quote"d',
    '1st',
    'événement',
    'path',
  ),
  fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes('\0')),
);

const simpleTypes = [
  'smallint',
  'integer',
  'bigint',
  'smallserial',
  'serial',
  'bigserial',
  'real',
  'double precision',
  'boolean',
  'text',
  'uuid',
  'date',
  'jsonb',
] as const;

const baseType: fc.Arbitrary<DataType> = fc.oneof(
  fc.constantFrom(...simpleTypes).map((n) => ({ name: n })),
  fc.record({
    name: fc.constantFrom('varchar' as const, 'char' as const),
    length: fc.integer({ min: 1, max: 50 }),
  }),
  fc.constantFrom(
    { name: 'varchar' as const },
    { name: 'char' as const },
    { name: 'numeric' as const },
  ),
  fc.integer({ min: 1, max: 30 }).chain((precision) =>
    fc.oneof(
      fc.constant({ name: 'numeric' as const, precision }),
      fc
        .integer({ min: -5, max: precision + 2 })
        .map((scale) => ({ name: 'numeric' as const, precision, scale })),
    ),
  ),
  fc.record(
    {
      name: fc.constantFrom('timestamp' as const, 'timestamptz' as const),
      precision: fc.integer({ min: 0, max: 6 }),
    },
    { requiredKeys: ['name'] },
  ),
);

const dataType: fc.Arbitrary<DataType> = fc
  .tuple(baseType, fc.boolean())
  .map(([type, array]) =>
    array && !type.name.endsWith('serial') ? { ...type, array: true as const } : type,
  );

const literal = (l: DefaultValue & { kind: 'literal' }): DefaultValue => l;
const number = (text: string): DefaultValue =>
  literal({ kind: 'literal', literal: { kind: 'number', text } });
const string = (value: string): DefaultValue =>
  literal({ kind: 'literal', literal: { kind: 'string', value } });
const fn = (n: 'now' | 'current_timestamp' | 'current_date' | 'gen_random_uuid'): DefaultValue => ({
  kind: 'function',
  name: n,
});

/** A DEFAULT that fits the type (undefined for serials, which take none). */
function defaultFor(type: DataType): fc.Arbitrary<DefaultValue | undefined> {
  if (type.array === true && !type.name.endsWith('serial')) {
    // Elements must read as the element type: `1` and `2` do for integers and text, not for dates or UUIDs.
    const numbersFit = ['smallint', 'integer', 'bigint', 'text', 'varchar', 'char'].includes(
      type.name,
    );
    return numbersFit ? fc.constantFrom(string('{}'), string('{1,2}')) : fc.constant(string('{}'));
  }
  switch (type.name) {
    case 'smallint':
      return fc.integer({ min: -32768, max: 32767 }).map((n) => number(String(n)));
    case 'integer':
      return fc.integer().map((n) => number(String(n)));
    case 'bigint':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => number(n.toString()));
    case 'numeric': {
      // One digit of room is kept for the carry of rounding to the scale (PostgreSQL rounds, then checks).
      const digits =
        type.precision === undefined ? 9 : Math.min(9, type.precision - (type.scale ?? 0) - 1);
      if (digits <= 0) return fc.constant(number('0'));
      return fc
        .tuple(
          fc.integer({ min: -(10 ** digits - 1), max: 10 ** digits - 1 }),
          fc.option(fc.nat({ max: 99 })),
        )
        .map(([whole, fraction]) =>
          number(fraction === null ? String(whole) : `${whole}.${fraction}`),
        );
    }
    case 'real':
    case 'double precision':
      return fc.constantFrom(number('1.5'), number('-0.25'), number('1e10'), number('2.5e-3'));
    case 'boolean':
      return fc
        .boolean()
        .map((value) => literal({ kind: 'literal', literal: { kind: 'boolean', value } }));
    case 'text':
    case 'varchar':
    case 'char':
      return fc
        .string({ maxLength: Math.min(type.length ?? (type.name === 'char' ? 1 : 20), 20) })
        .filter((s) => [...s].length <= (type.length ?? (type.name === 'char' ? 1 : 20)))
        .map(string);
    case 'uuid':
      return fc.oneof(fc.uuid().map(string), fc.constant(fn('gen_random_uuid')));
    case 'date':
      return fc.oneof(fc.constant(string('2024-02-29')), fc.constant(fn('current_date')));
    case 'timestamp':
    case 'timestamptz':
      return fc.oneof(
        fc
          .date({ min: new Date('1970-01-01'), max: new Date('2999-12-31'), noInvalidDate: true })
          .map((d) => string(d.toISOString())),
        fc.constantFrom(fn('now'), fn('current_timestamp'), fn('current_date')),
      );
    case 'jsonb':
      return fc.json().map(string);
    case 'smallserial':
    case 'serial':
    case 'bigserial':
      return fc.constant(undefined);
  }
}

/** `{ ...base, key: value }` without the key when value is undefined, as the parser builds objects. */
function withOptional<T extends object>(base: T, extra: Record<string, unknown>): T {
  const result: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(extra))
    if (value !== undefined && value !== false) result[key] = value;
  return result as T;
}

const ref = fc.record({ aggregate: name, column: name });

/** A column; a primary key column is NOT NULL without saying so, so its default is never NULL. */
const column = (primaryKey: boolean): fc.Arbitrary<ColumnDefinition> =>
  fc
    .tuple(
      name,
      fc.option(dataType, { nil: undefined }),
      fc.boolean(),
      fc.boolean(),
      fc.option(ref, { nil: undefined }),
    )
    .chain(([n, type, notNull, unique, references]) =>
      (type === undefined
        ? fc.constant(undefined)
        : fc.option(defaultFor(type), { nil: undefined })
      ).map((d) =>
        withOptional<ColumnDefinition>(
          { name: n },
          {
            type,
            primaryKey: primaryKey ? true : undefined,
            notNull: notNull ? true : undefined,
            unique: unique ? true : undefined,
            default: d,
            references:
              type === undefined ? (references ?? { aggregate: 'a', column: 'id' }) : references,
          },
        ),
      ),
    );

const aggregate: fc.Arbitrary<Statement> = fc
  .tuple(name, column(true), fc.array(column(false), { maxLength: 6 }), fc.nat())
  .filter(
    ([, key, rest]) => new Set([key.name, ...rest.map((c) => c.name)]).size === rest.length + 1,
  )
  .map(([n, key, rest, at]) => {
    const columns = [...rest];
    columns.splice(at % (rest.length + 1), 0, key);
    return { kind: 'aggregate', name: n, columns };
  });

const field: fc.Arbitrary<FieldDefinition> = fc
  .tuple(
    name,
    fc.option(dataType, { nil: undefined }),
    fc.option(
      fc.record({
        kind: fc.constantFrom('creates' as const, 'updates' as const, 'references' as const),
        aggregate: name,
        column: name,
      }),
      {
        nil: undefined,
      },
    ),
    fc.boolean(),
  )
  .chain(([n, type, link, notNull]) =>
    (type === undefined
      ? fc.constant(undefined)
      : fc.option(defaultFor(type), { nil: undefined })
    ).map((d) =>
      withOptional<FieldDefinition>(
        { name: n },
        {
          type,
          link:
            type === undefined
              ? (link ?? { kind: 'references', aggregate: 'a', column: 'id' })
              : link,
          notNull: notNull ? true : undefined,
          default: d,
        },
      ),
    ),
  );

const eventType: fc.Arbitrary<Statement> = fc
  .tuple(name, fc.uniqueArray(field, { maxLength: 6, selector: (f) => f.name }))
  .map(([n, fields]) => ({ kind: 'event_type', name: n, fields }));

const segment = fc.oneof(
  fc.stringMatching(/^[a-z0-9._-]{1,8}$/),
  fc.stringMatching(/^[a-z_][a-z0-9_]{0,6}$/).map((p) => `{${p}}`),
);
const stream: fc.Arbitrary<Statement> = fc
  .tuple(
    name,
    fc.uniqueArray(segment, { maxLength: 4 }),
    fc.uniqueArray(name, { minLength: 1, maxLength: 4 }),
  )
  .map(([n, segments, eventTypes]) => ({
    kind: 'stream',
    name: n,
    path: `/${segments.join('/')}`,
    eventTypes,
  }));

const drop: fc.Arbitrary<Statement> = fc
  .tuple(
    fc.constantFrom('aggregate' as const, 'event_type' as const, 'stream' as const),
    name,
    fc.boolean(),
  )
  .map(([target, n, ifExists]) =>
    withOptional<Statement>({ kind: 'drop', target, name: n }, { ifExists }),
  );

/** The changes ALTER AGGREGATE and ALTER EVENT_TYPE share, for member `member`. */
const memberChange = (member: 'column' | 'field') =>
  fc
    .oneof(
      dataType.map((type) => ({ action: 'set_type' as const, type })),
      fc.constant({ kind: 'literal' as const, literal: { kind: 'null' as const } }).map((d) => ({
        action: 'set_default' as const,
        default: d,
      })),
      fc
        .constantFrom('drop_default' as const, 'set_not_null' as const, 'drop_not_null' as const)
        .map((action) => ({ action })),
    )
    .chain((change) => name.map((n) => ({ ...change, [member]: n })));

const alter: fc.Arbitrary<Statement> = fc.oneof(
  fc
    .tuple(
      name,
      fc.array(
        fc.oneof(
          column(false).map((c): AggregateAlteration => ({ action: 'add_column', column: c })),
          name.map((n): AggregateAlteration => ({ action: 'drop_column', column: n })),
          memberChange('column') as fc.Arbitrary<AggregateAlteration>,
        ),
        { minLength: 1, maxLength: 4 },
      ),
    )
    .map(([n, actions]): Statement => ({ kind: 'alter_aggregate', name: n, actions })),
  fc
    .tuple(
      name,
      fc.array(
        fc.oneof(
          field.map((f): EventTypeAlteration => ({ action: 'add_field', field: f })),
          name.map((n): EventTypeAlteration => ({ action: 'drop_field', field: n })),
          memberChange('field') as fc.Arbitrary<EventTypeAlteration>,
        ),
        { minLength: 1, maxLength: 4 },
      ),
    )
    .map(([n, actions]): Statement => ({ kind: 'alter_event_type', name: n, actions })),
  fc
    .tuple(
      name,
      fc.array(
        fc.tuple(fc.boolean(), name).map(([add, eventType]): StreamAlteration => ({
          action: add ? 'add_event_type' : 'drop_event_type',
          eventType,
        })),
        { minLength: 1, maxLength: 3 },
      ),
    )
    .map(([n, actions]): Statement => ({ kind: 'alter_stream', name: n, actions })),
);

const statement: fc.Arbitrary<Statement> = fc.oneof(aggregate, eventType, stream, drop, alter);

describe('formatDdl', () => {
  it('prints statements that parse back to the same model', () => {
    fc.assert(
      fc.property(fc.array(statement, { maxLength: 5 }), (statements) => {
        const text = formatDdl(statements);
        expect(stripPositions(parseDdl(text))).toEqual(statements);
      }),
      { numRuns: 300 },
    );
  });

  it('quotes names only where a bare one would read differently', () => {
    expect(['account', 'Account', 'default', 'a b', 'x"y', '9lives'].map(quoteName)).toEqual([
      'account',
      '"Account"',
      '"default"',
      '"a b"',
      '"x""y"',
      '"9lives"',
    ]);
  });
});
