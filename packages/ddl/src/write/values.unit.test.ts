import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDataType } from '../parser.js';
import type { DefaultValue } from '../model.js';
import { coerceFromText, coerceValue, evaluateDefault } from './values.js';

/** [type, input, canonical value] */
const accepted: readonly (readonly [string, unknown, unknown])[] = [
  ['smallint', 32767, 32767],
  ['smallint', -32768, -32768],
  ['integer', 2147483647, 2147483647],
  ['integer', -0, 0],
  ['integer', 5.0, 5],
  ['bigint', 9007199254740991, 9007199254740991],
  ['bigint', '9223372036854775807', '9223372036854775807'],
  ['bigint', '-9223372036854775808', '-9223372036854775808'],
  ['bigint', '42', 42],
  ['bigint', '+0042', 42],
  ['serial', 7, 7],
  ['bigserial', '12345678901234567890'.slice(0, 19), '1234567890123456789'],
  ['numeric', 1.5, '1.5'],
  ['numeric', '1.50', '1.50'],
  ['numeric', '-0.00', '0.00'],
  ['numeric', '1e3', '1000'],
  ['numeric', '1.5e-3', '0.0015'],
  ['numeric', '.5', '0.5'],
  ['numeric', '123456789012345678901234567890.123', '123456789012345678901234567890.123'],
  ['numeric(10,2)', 1.005, '1.01'],
  ['numeric(10,2)', '2.345', '2.35'],
  ['numeric(10,2)', '-2.345', '-2.35'],
  ['numeric(10,2)', '-2.344', '-2.34'],
  ['numeric(10,2)', 3, '3.00'],
  ['numeric(10,2)', '99999999.994', '99999999.99'],
  ['numeric(4)', '9999.4', '9999'],
  ['numeric(3,-2)', '12345', '12300'],
  ['numeric(2,4)', '0.0012', '0.0012'],
  ['real', 0.1, 0.1],
  ['real', 1 / 3, 0.33333334],
  ['real', 3.4028235e38, 3.4028235e38],
  ['real', 1e-45, 1e-45],
  ['double precision', 1 / 3, 1 / 3],
  ['double precision', -1e308, -1e308],
  ['boolean', true, true],
  ['boolean', false, false],
  ['text', '', ''],
  ['text', 'héllo 🌍', 'héllo 🌍'],
  ['varchar(3)', 'abc', 'abc'],
  ['varchar(3)', '🌍🌍🌍', '🌍🌍🌍'],
  ['varchar(3)', 'ab   ', 'ab '],
  ['varchar', 'x'.repeat(10_000), 'x'.repeat(10_000)],
  ['char(3)', 'a', 'a  '],
  ['char', 'z', 'z'],
  ['uuid', '123E4567-E89B-12D3-A456-426614174000', '123e4567-e89b-12d3-a456-426614174000'],
  ['date', '2024-02-29', '2024-02-29'],
  ['date', '0001-01-01', '0001-01-01'],
  ['timestamp', '2024-01-31T12:00:00', '2024-01-31T12:00:00'],
  ['timestamp', '2024-01-31 12:00:00.120', '2024-01-31T12:00:00.12'],
  ['timestamp', '2024-01-31T12:00:00.1234567', '2024-01-31T12:00:00.123457'],
  ['timestamp(0)', '2024-12-31T23:59:59.5', '2025-01-01T00:00:00'],
  ['timestamp(3)', '2024-01-31T12:00:00.0004', '2024-01-31T12:00:00'],
  ['timestamptz', '2024-01-31T12:00:00Z', '2024-01-31T12:00:00Z'],
  ['timestamptz', '2024-01-31t12:00:00z', '2024-01-31T12:00:00Z'],
  ['timestamptz', '2024-01-31T01:30:00+02:00', '2024-01-30T23:30:00Z'],
  ['timestamptz', '2024-01-31T23:30:00.5-01:00', '2024-02-01T00:30:00.5Z'],
  ['timestamptz(2)', '2024-01-31T12:00:00.125Z', '2024-01-31T12:00:00.13Z'],
  ['jsonb', { a: [1, 'x', null, { b: true }] }, { a: [1, 'x', null, { b: true }] }],
  ['jsonb', 'just a string', 'just a string'],
  ['jsonb', -0, 0],
  ['jsonb', 3.5, 3.5],
  ['jsonb', [], []],
  ['integer[]', [1, null, 3], [1, null, 3]],
  ['text[]', [], []],
  ['uuid[]', ['AAAAAAAA-AAAA-AAAA-AAAA-AAAAAAAAAAAA'], ['aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa']],
  ['numeric(5,1)[]', [1.25, '2'], ['1.3', '2.0']],
  ['varchar(2)[]', ['ab', null], ['ab', null]],
];

/** [type, input, reason] */
const refused: readonly (readonly [string, unknown, string])[] = [
  ['smallint', 32768, 'must be an integer between -32768 and 32767'],
  ['integer', 2147483648, 'must be an integer between -2147483648 and 2147483647'],
  ['integer', 1.5, 'must be an integer between -2147483648 and 2147483647'],
  ['integer', '1', 'must be an integer between -2147483648 and 2147483647'],
  ['integer', true, 'must be an integer between -2147483648 and 2147483647'],
  ['integer', Number.NaN, 'must be an integer between -2147483648 and 2147483647'],
  [
    'bigint',
    9007199254740992,
    'is beyond 2^53 and imprecise as a JSON number: send it as a decimal string',
  ],
  [
    'bigint',
    '9223372036854775808',
    'must be an integer between -9223372036854775808 and 9223372036854775807',
  ],
  ['bigint', '1.0', 'must be an integer between -9223372036854775808 and 9223372036854775807'],
  ['bigint', ' 1', 'must be an integer between -9223372036854775808 and 9223372036854775807'],
  ['numeric', 'abc', 'must be a number or a decimal string'],
  ['numeric', '', 'must be a number or a decimal string'],
  ['numeric', '.', 'must be a number or a decimal string'],
  ['numeric', 'NaN', 'must be a number or a decimal string'],
  ['numeric', Number.POSITIVE_INFINITY, 'must be a finite number'],
  ['numeric', true, 'must be a number or a decimal string'],
  ['numeric', '1e999999', 'is out of range for numeric'],
  [
    'numeric(10,2)',
    '123456789',
    'must be a numeric(10,2): at most 8 digits before the decimal point',
  ],
  [
    'numeric(10,2)',
    '99999999.995',
    'must be a numeric(10,2): at most 8 digits before the decimal point',
  ],
  ['numeric(2,2)', '1', 'must be a numeric(2,2): an absolute value below 10^0'],
  ['numeric(2,4)', '0.01', 'must be a numeric(2,4): an absolute value below 10^-2'],
  ['real', 1e39, 'is out of range for real'],
  ['real', 1e-50, 'is out of range for real'],
  ['real', '1', 'must be a finite number'],
  ['double precision', Number.NaN, 'must be a finite number'],
  ['boolean', 'true', 'must be true or false'],
  ['boolean', 1, 'must be true or false'],
  ['text', 5, 'must be a string'],
  ['text', 'a\u0000b', 'must not contain the NUL character'],
  ['text', '\ud800', 'must be well-formed Unicode'],
  ['varchar(40)', 'x'.repeat(41), 'must be at most 40 characters'],
  ['varchar(3)', '🌍🌍🌍🌍', 'must be at most 3 characters'],
  ['char(2)', 'abc', 'must be at most 2 characters'],
  ['char', 'ab', 'must be at most 1 characters'],
  [
    'uuid',
    '123e4567e89b12d3a456426614174000',
    'must be a UUID such as "123e4567-e89b-12d3-a456-426614174000"',
  ],
  ['uuid', 'not-a-uuid', 'must be a UUID such as "123e4567-e89b-12d3-a456-426614174000"'],
  ['date', '2023-02-29', 'must be a date YYYY-MM-DD'],
  ['date', '2024-1-01', 'must be a date YYYY-MM-DD'],
  ['date', '0000-01-01', 'must be a date YYYY-MM-DD'],
  ['date', '2024-01-01T00:00:00Z', 'must be a date YYYY-MM-DD'],
  ['date', 20240101, 'must be a date YYYY-MM-DD'],
  [
    'timestamp',
    '2024-01-31T12:00:00Z',
    'must be an RFC 3339 timestamp without a time zone, such as "2024-01-31T12:00:00": a timestamp takes no zone',
  ],
  [
    'timestamptz',
    '2024-01-31T12:00:00',
    'must be an RFC 3339 timestamp with a time zone, such as "2024-01-31T12:00:00Z": the zone (Z or ±HH:MM) is missing',
  ],
  [
    'timestamptz',
    '2024-01-31T12:00Z',
    'must be an RFC 3339 timestamp with a time zone, such as "2024-01-31T12:00:00Z"',
  ],
  [
    'timestamptz',
    '2024-02-30T12:00:00Z',
    'must be an RFC 3339 timestamp with a time zone, such as "2024-01-31T12:00:00Z"',
  ],
  [
    'timestamptz',
    '2024-01-31T24:00:00Z',
    'must be an RFC 3339 timestamp with a time zone, such as "2024-01-31T12:00:00Z"',
  ],
  [
    'timestamptz',
    '2024-01-31T12:00:00+24:00',
    'must be an RFC 3339 timestamp with a time zone, such as "2024-01-31T12:00:00Z"',
  ],
  [
    'timestamptz',
    '9999-12-31T23:30:00-01:00',
    'must be an RFC 3339 timestamp with a time zone, such as "2024-01-31T12:00:00Z": out of range',
  ],
  [
    'timestamp',
    1706702400000,
    'must be an RFC 3339 timestamp without a time zone, such as "2024-01-31T12:00:00"',
  ],
  ['jsonb', { a: 'x\u0000' }, 'must not contain the NUL character'],
  ['jsonb', { a: Number.POSITIVE_INFINITY }, 'must hold finite numbers only'],
  ['jsonb', new Date(0), 'must be a JSON value'],
  ['jsonb', undefined, 'must be a JSON value'],
  ['integer[]', 1, 'must be an array of integer'],
  ['integer[]', [1, 'x'], 'element 1: must be an integer between -2147483648 and 2147483647'],
  ['varchar(2)[]', ['abc'], 'element 0: must be at most 2 characters'],
];

describe('coerceValue', () => {
  it.each(accepted)('%s accepts %j', (type, input, value) => {
    expect(coerceValue(parseDataType(type), input)).toEqual({ ok: true, value });
  });
  it.each(refused)('%s refuses %j', (type, input, reason) => {
    expect(coerceValue(parseDataType(type), input)).toEqual({ ok: false, reason });
  });
  it('takes null for every type', () => {
    for (const type of ['integer', 'text', 'jsonb', 'uuid[]', 'timestamptz', 'numeric(3,1)']) {
      expect(coerceValue(parseDataType(type), null)).toEqual({ ok: true, value: null });
    }
  });
  it('refuses jsonb nested deeper than its bound', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 300; i++) deep = [deep];
    expect(coerceValue({ name: 'jsonb' }, deep)).toEqual({
      ok: false,
      reason: 'must nest at most 256 levels',
    });
  });
  it('is idempotent on canonical values', () => {
    for (const [type, input] of accepted) {
      const first = coerceValue(parseDataType(type), input);
      expect(first.ok).toBe(true);
      if (first.ok) expect(coerceValue(parseDataType(type), first.value)).toEqual(first);
    }
  });
});

describe('jsonb canonical form', () => {
  it('orders object keys as PostgreSQL does: shorter first, then by UTF-8 bytes, at every depth', () => {
    const coerced = coerceValue(
      { name: 'jsonb' },
      { bb: 1, a: { zz: [{ y: 1, x: 2 }], b: 0 }, é: 2, z: 3, ab: 4 },
    );
    expect(coerced.ok).toBe(true);
    if (!coerced.ok) return;
    expect(JSON.stringify(coerced.value)).toBe(
      '{"a":{"b":0,"zz":[{"x":2,"y":1}]},"z":3,"ab":4,"bb":1,"é":2}',
    );
  });
  it('keeps a "__proto__" key as a plain key', () => {
    const input = JSON.parse('{"__proto__": {"b": 1, "a": 2}}') as unknown;
    const coerced = coerceValue({ name: 'jsonb' }, input);
    expect(coerced.ok && JSON.stringify(coerced.value)).toBe('{"__proto__":{"a":2,"b":1}}');
  });
});

describe('coerceFromText', () => {
  it.each([
    ['integer', '123', 123],
    ['integer', '-5', -5],
    ['bigint', '9223372036854775807', '9223372036854775807'],
    ['numeric(5,2)', '1.005', '1.01'],
    ['double precision', '2.5', 2.5],
    ['boolean', 'TRUE', true],
    ['boolean', 'off', false],
    ['text', 'abc', 'abc'],
    ['uuid', 'AAAAAAAA-AAAA-AAAA-AAAA-AAAAAAAAAAAA', 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'],
    ['jsonb', '{"a":1}', { a: 1 }],
    ['integer[]', '{1, 2,NULL}', [1, 2, null]],
    ['text[]', '{"a,b","c\\"d",NULL,"NULL"}', ['a,b', 'c"d', null, 'NULL']],
    ['text[]', '{}', []],
  ] as const)('%s reads %j', (type, text, value) => {
    expect(coerceFromText(parseDataType(type), text)).toEqual({ ok: true, value });
  });
  it.each([
    ['integer', 'abc', 'must be an integer between -2147483648 and 2147483647'],
    ['integer', '99999999999999999999', 'must be an integer between -2147483648 and 2147483647'],
    ['boolean', 'maybe', 'must be true or false'],
    ['double precision', 'x', 'must be a finite number'],
    ['jsonb', '{', 'must be JSON text'],
    ['integer[]', '1,2', 'must be an array literal such as {1,2}'],
    ['integer[]', '{{1}}', 'must be a one-dimensional array literal'],
    ['text[]', '{a,}', 'must be an array literal such as {1,2}'],
    ['text[]', '{,a}', 'must be an array literal such as {1,2}'],
    ['text[]', '{"a"b}', 'must be an array literal such as {1,2}'],
    ['text[]', '{"a}', 'must be an array literal such as {1,2}'],
    ['integer[]', '{1,x}', 'element 1: must be an integer between -2147483648 and 2147483647'],
  ] as const)('%s refuses %j', (type, text, reason) => {
    expect(coerceFromText(parseDataType(type), text)).toEqual({ ok: false, reason });
  });
});

describe('evaluateDefault', () => {
  const context = {
    now: '2024-03-10T23:59:58.1234567Z',
    uuid: () => 'ABCDEF01-2345-6789-ABCD-EF0123456789',
  };
  const literal = (l: DefaultValue & { kind: 'literal' }): DefaultValue => l;
  it.each([
    ['timestamptz', { kind: 'function', name: 'now' }, '2024-03-10T23:59:58.123457Z'],
    ['timestamptz(0)', { kind: 'function', name: 'current_timestamp' }, '2024-03-10T23:59:58Z'],
    ['timestamp', { kind: 'function', name: 'now' }, '2024-03-10T23:59:58.123457'],
    ['date', { kind: 'function', name: 'now' }, '2024-03-10'],
    ['date', { kind: 'function', name: 'current_date' }, '2024-03-10'],
    ['timestamptz', { kind: 'function', name: 'current_date' }, '2024-03-10T00:00:00Z'],
    ['uuid', { kind: 'function', name: 'gen_random_uuid' }, 'abcdef01-2345-6789-abcd-ef0123456789'],
    ['integer', literal({ kind: 'literal', literal: { kind: 'number', text: '42' } }), 42],
    [
      'numeric(6,2)',
      literal({ kind: 'literal', literal: { kind: 'number', text: '1.005' } }),
      '1.01',
    ],
    [
      'double precision',
      literal({ kind: 'literal', literal: { kind: 'number', text: '2.5e1' } }),
      25,
    ],
    ['boolean', literal({ kind: 'literal', literal: { kind: 'boolean', value: false } }), false],
    ['char(3)', literal({ kind: 'literal', literal: { kind: 'string', value: 'a' } }), 'a  '],
    ['text', literal({ kind: 'literal', literal: { kind: 'null' } }), null],
    [
      'jsonb',
      literal({ kind: 'literal', literal: { kind: 'string', value: '{"x":[1]}' } }),
      { x: [1] },
    ],
    ['integer[]', literal({ kind: 'literal', literal: { kind: 'string', value: '{}' } }), []],
    [
      'text[]',
      literal({ kind: 'literal', literal: { kind: 'string', value: '{a,b}' } }),
      ['a', 'b'],
    ],
    [
      'date',
      literal({ kind: 'literal', literal: { kind: 'string', value: '2024-01-02' } }),
      '2024-01-02',
    ],
    [
      'timestamptz',
      literal({ kind: 'literal', literal: { kind: 'string', value: '2024-01-02 03:04+0530' } }),
      '2024-01-01T21:34:00Z',
    ],
    [
      'timestamptz',
      literal({ kind: 'literal', literal: { kind: 'string', value: '2024-01-02' } }),
      '2024-01-02T00:00:00Z',
    ],
    [
      'timestamp',
      literal({ kind: 'literal', literal: { kind: 'string', value: '2024-01-02T03:04:05Z' } }),
      '2024-01-02T03:04:05',
    ],
  ] as const)('%s DEFAULT %j', (type, value, expected) => {
    expect(evaluateDefault(parseDataType(type), value, context)).toEqual(expected);
  });
  it('throws an assertion error for a default the catalog check refuses', () => {
    expect(() =>
      evaluateDefault({ name: 'integer' }, { kind: 'function', name: 'now' }, context),
    ).toThrow(/DEFAULT does not fit type integer/);
  });
});

describe('coerceValue properties', () => {
  /** Rounds an exact decimal (units of 10^-scale) half away from zero to `to` fraction digits, as text. */
  const model = (units: bigint, scale: number, to: number): string => {
    const negative = units < 0n;
    let magnitude = negative ? -units : units;
    if (scale > to) {
      const divisor = 10n ** BigInt(scale - to);
      const remainder = magnitude % divisor;
      magnitude /= divisor;
      if (remainder * 2n >= divisor) magnitude += 1n;
    } else magnitude *= 10n ** BigInt(to - scale);
    const digits = magnitude.toString().padStart(to + 1, '0');
    const text = to === 0 ? digits : `${digits.slice(0, -to)}.${digits.slice(-to)}`;
    return negative && magnitude !== 0n ? `-${text}` : text;
  };

  it('rounds numeric(p,s) half away from zero and checks the precision, like exact arithmetic', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 6 }),
        (units, inputScale, precision, wanted) => {
          const scale = Math.min(wanted, precision);
          const text = model(units, inputScale, inputScale);
          const expected = model(units, inputScale, scale);
          const integerDigits =
            expected.replace('-', '').split('.')[0]?.replace(/^0+/, '').length ?? 0;
          const result = coerceValue({ name: 'numeric', precision, scale }, text);
          if (integerDigits > precision - scale) expect(result.ok).toBe(false);
          else expect(result).toEqual({ ok: true, value: expected });
        },
      ),
    );
  });

  it('normalizes timestamptz with any offset to the same UTC instant', () => {
    fc.assert(
      fc.property(
        fc.integer({
          min: Date.parse('0002-01-01T00:00:00Z'),
          max: Date.parse('9998-01-01T00:00:00Z'),
        }),
        fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
        (ms, offset) => {
          const local = new Date(ms + offset * 60_000).toISOString().slice(0, 23);
          const sign = offset < 0 ? '-' : '+';
          const abs = Math.abs(offset);
          const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          const expected = new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
          expect(coerceValue({ name: 'timestamptz' }, `${local}${zone}`)).toEqual({
            ok: true,
            value: expected,
          });
        },
      ),
    );
  });
});
