// Goal: bad input is a coded error, never a crash: whatever JSON a client sends, validation answers with a result or
// AEV_EVENT_DATA_INVALID, and coercion with a value or a reason; and what validation accepts is canonical (coercing
// it again changes nothing) and plans without error. Method: fast-check bodies, path segments and raw values against
// a schema with every type.
import { isAevonError } from '@aevon/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fieldType } from '../catalog.js';
import { parseDataType } from '../parser.js';
import { typeNames } from '../model.js';
import { applyDefinitionsChange, emptyDefinitionsState } from './definitions.js';
import { planRowChanges } from './plan-rows.js';
import { streamIdFor, validateEventInput } from './validate-event.js';
import { coerceFromText, coerceValue } from './values.js';

const state = applyDefinitionsChange(emptyDefinitionsState(), {
  ddl: `
    CREATE AGGREGATE thing (id bigserial PRIMARY KEY, code varchar(4) UNIQUE, n numeric(6,2) DEFAULT 0);
    CREATE EVENT_TYPE everything (
      id creates thing(id), code updates thing(code), n updates thing(n),
      a smallint, b integer NOT NULL DEFAULT 1, c bigint, e real, f double precision, g boolean, h text,
      i char(3), j uuid, k date, l timestamp(3), m timestamptz, o jsonb, p integer[], q text[] DEFAULT '{x}'
    );
    CREATE STREAM things (path "/things/{id}/{k}" event_types (everything));
  `,
}).state;
const eventType = state.catalog.eventTypes.get('everything');
if (eventType === undefined) throw new Error('schema');
const names = eventType.fields.map((f) => f.name);

const fieldValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    '2024-02-29',
    '2024-01-31T12:00:00.123456789Z',
    '1e400',
    '-0',
    '+5',
    '{1,2}',
    'T',
  ),
  fc.uuid(),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
);
const iso = fc
  .date({
    min: new Date('0001-01-02T00:00:00Z'),
    max: new Date('9999-12-30T00:00:00Z'),
    noInvalidDate: true,
  })
  .map((d) => d.toISOString());
/** A valid value for each field, mostly; sometimes anything. */
const valid: Record<string, fc.Arbitrary<unknown>> = {
  id: fc.integer({ min: 1 }),
  code: fc.string({ maxLength: 4 }),
  n: fc.double({ min: -9999, max: 9999, noNaN: true }),
  a: fc.integer({ min: -32768, max: 32767 }),
  b: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  c: fc.oneof(
    fc.maxSafeInteger(),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
  ),
  e: fc.float({ noNaN: true, noDefaultInfinity: true }),
  f: fc.double({ noNaN: true, noDefaultInfinity: true }),
  g: fc.boolean(),
  h: fc.string(),
  i: fc.string({ maxLength: 3 }),
  j: fc.uuid(),
  k: iso.map((t) => t.slice(0, 10)),
  l: iso.map((t) => t.slice(0, -1)),
  m: iso,
  o: fc.jsonValue({ maxDepth: 2 }),
  p: fc.array(fc.option(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }))),
  q: fc.array(fc.option(fc.string())),
};
const body = fc.record(
  Object.fromEntries(
    Object.entries(valid).map(([name, arbitrary]) => [
      name,
      fc.oneof(
        { weight: 60, arbitrary },
        { weight: 1, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fieldValue },
      ),
    ]),
  ),
  { requiredKeys: [] },
);
const anyBody = fc.oneof(
  { weight: 8, arbitrary: body },
  {
    weight: 1,
    arbitrary: fc.dictionary(
      fc.oneof(
        fc.constantFrom(...names, 'thing_id', 'thing_code', 'thing_n'),
        fc.string({ maxLength: 4 }),
      ),
      fieldValue,
      { maxKeys: 4 },
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const segment = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer().map(String),
  fc.constant('2024-01-02'),
);

describe('fuzzing the write path', () => {
  it('validates any body and path to a result or AEV_EVENT_DATA_INVALID; results are canonical and plan', () => {
    fc.assert(
      fc.property(
        anyBody,
        fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, fc.array(segment, { maxLength: 3 })),
        (input, pathValues) => {
          let validated;
          try {
            validated = validateEventInput(state, {
              stream: 'things',
              eventType: 'everything',
              body: input,
              pathValues,
              now: '2024-01-01T00:00:00.000Z',
              randomUuid: () => '00000000-0000-4000-8000-000000000001',
            });
          } catch (error) {
            expect(isAevonError(error, 'AEV_EVENT_DATA_INVALID')).toBe(true);
            return;
          }
          for (const field of eventType.fields) {
            if (!(field.name in validated.data)) continue;
            const value = validated.data[field.name] ?? null;
            expect(coerceValue(fieldType(state.catalog, field), value)).toEqual({
              ok: true,
              value,
            });
          }
          const data = { ...validated.data, id: validated.data.id ?? 1 };
          try {
            expect(streamIdFor(state.catalog, 'things', data)).toMatch(/^\/things\/[^/]+\/[^/]+$/);
          } catch (error) {
            expect(isAevonError(error, 'AEV_EVENT_DATA_INVALID')).toBe(true);
          }
          planRowChanges(state.catalog, 'everything', data, {
            eventId: 'e',
            recordedAt: '2024-01-01T00:00:00.000Z',
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('coerces anything to a value or a reason, for every type, never throwing', () => {
    const types = [
      ...typeNames.map((name) => parseDataType(name)),
      ...['varchar(2)', 'numeric(4,2)', 'numeric(2,-1)', 'timestamptz(0)', 'uuid[]', 'jsonb[]'].map(
        (text) => parseDataType(text),
      ),
    ];
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.oneof(fc.anything(), fieldValue), (type, input) => {
        const first = coerceValue(type, input);
        if (first.ok) expect(coerceValue(type, first.value)).toEqual(first);
        else expect(first.reason).toMatch(/^[a-z{]/);
      }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.string({ maxLength: 30 }), (type, text) => {
        const first = coerceFromText(type, text);
        if (first.ok) expect(coerceValue(type, first.value)).toEqual(first);
      }),
    );
  });
});
