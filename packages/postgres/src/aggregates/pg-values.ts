import { assert } from '@aevon/core';
import type { Row, Value } from '@aevon/ddl';

/** A base type this module reads: its DDL name and how its text output becomes a canonical {@link Value}. */
interface BaseType {
  readonly name: string;
  readonly read: (text: string) => Value;
}

const readInteger = (text: string): Value => {
  const n = Number(text);
  assert(Number.isSafeInteger(n), 'a smallint or integer is a safe integer');
  return n;
};

/** A bigint is a number while it is a safe integer, else its decimal text (canonical form). */
const readBigint = (text: string): Value => {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text).toString();
};

/** Finite floats are numbers; NaN and the infinities, which JSON cannot hold, stay PostgreSQL's text. */
const readFloat = (text: string): Value => {
  const n = Number(text);
  return Number.isFinite(n) ? n : text;
};

/** PostgreSQL's ISO output of a timestamp (`2024-01-31 12:00:00.5`) in the canonical RFC 3339 form. */
const readTimestamp = (text: string): Value => text.replace(' ', 'T');

const timestamptzPattern =
  /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)?([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?$/;

/**
 * PostgreSQL's ISO output of a timestamptz in the session's time zone (`2024-01-31 13:00:00.5+01`) as the canonical
 * UTC form (`2024-01-31T12:00:00.5Z`). Values outside years 1-9999 (BC, infinity) keep PostgreSQL's text.
 */
const readTimestamptz = (text: string): Value => {
  const m = timestamptzPattern.exec(text);
  if (m === null) return text;
  const [, year, month, day, hour, minute, second, fraction = '', sign, oh, om = '0', os = '0'] = m;
  const offsetSeconds =
    (sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om) * 60 + Number(os));
  const date = new Date(0);
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  date.setUTCHours(Number(hour), Number(minute), Number(second) - offsetSeconds, 0);
  const utcYear = date.getUTCFullYear();
  if (utcYear < 1 || utcYear > 9999) return text;
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    `${String(utcYear).padStart(4, '0')}-${two(date.getUTCMonth() + 1)}-${two(date.getUTCDate())}` +
    `T${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}${fraction}Z`
  );
};

const readJson = (text: string): Value => JSON.parse(text) as Value;
const readText = (text: string): Value => text;

/** The types of aggregate columns, by OID (PostgreSQL's fixed OIDs from `pg_type.dat`). */
const baseTypes: ReadonlyMap<number, BaseType> = new Map([
  [21, { name: 'smallint', read: readInteger }],
  [23, { name: 'integer', read: readInteger }],
  [20, { name: 'bigint', read: readBigint }],
  [1700, { name: 'numeric', read: readText }],
  [700, { name: 'real', read: readFloat }],
  [701, { name: 'double precision', read: readFloat }],
  [16, { name: 'boolean', read: (text) => text === 't' }],
  [25, { name: 'text', read: readText }],
  [1043, { name: 'varchar', read: readText }],
  [1042, { name: 'char', read: readText }],
  [2950, { name: 'uuid', read: readText }],
  [1082, { name: 'date', read: readText }],
  [1114, { name: 'timestamp', read: readTimestamp }],
  [1184, { name: 'timestamptz', read: readTimestamptz }],
  [3802, { name: 'jsonb', read: readJson }],
]);

/** Array type OID → element type OID. */
const arrayElements: ReadonlyMap<number, number> = new Map([
  [1005, 21],
  [1007, 23],
  [1016, 20],
  [1231, 1700],
  [1021, 700],
  [1022, 701],
  [1000, 16],
  [1009, 25],
  [1015, 1043],
  [1014, 1042],
  [2951, 2950],
  [1182, 1082],
  [1115, 1114],
  [1185, 1184],
  [3807, 3802],
]);

/** Types a query may return that are no aggregate column type, read into their natural JSON form. */
const otherTypes: ReadonlyMap<number, (text: string) => Value> = new Map([
  [114, readJson], // json
  [26, readBigint], // oid
]);

/**
 * The DDL name of a result column's type, with the modifier PostgreSQL reports (`varchar(40)`, `numeric(10,2)`,
 * `timestamptz(3)`, `text[]`), or null for a type no aggregate column has (`json`, `interval`, ...).
 */
export function pgTypeName(oid: number, typmod: number): string | null {
  const element = arrayElements.get(oid);
  const base = baseTypes.get(element ?? oid);
  if (base === undefined) return null;
  return `${base.name}${modifierText(base.name, typmod)}${element === undefined ? '' : '[]'}`;
}

function modifierText(name: string, typmod: number): string {
  if (typmod < 0) return '';
  switch (name) {
    case 'varchar':
    case 'char':
      // The modifier counts the 4-byte length header (VARHDRSZ).
      return `(${typmod - 4})`;
    case 'numeric': {
      const packed = typmod - 4;
      const precision = (packed >> 16) & 0xffff;
      // The scale is an 11-bit two's complement number since PostgreSQL 15 (negative scales).
      const raw = packed & 0x7ff;
      const scale = raw > 0x3ff ? raw - 0x800 : raw;
      return `(${precision},${scale})`;
    }
    case 'timestamp':
    case 'timestamptz':
      return `(${typmod})`;
    default:
      return '';
  }
}

/**
 * The canonical {@link Value} of a column's text output (the driver is told to leave every value as text). Needs the
 * session settings the stores set: `DateStyle` ISO, `TimeZone` UTC, `IntervalStyle` postgres.
 */
export function readPgValue(oid: number, text: string | null): Value {
  if (text === null) return null;
  const element = arrayElements.get(oid);
  if (element !== undefined) {
    const read = baseTypes.get(element)?.read;
    assert(read !== undefined, 'every array type maps to a base type');
    return readArray(parsePgArray(text), read);
  }
  const read = baseTypes.get(oid)?.read ?? otherTypes.get(oid) ?? readText;
  return read(text);
}

/** A result field as the pg driver describes it. */
export interface PgField {
  readonly name: string;
  readonly dataTypeID: number;
}

/** A row read with `rowMode: 'array'` and text values, as a canonical {@link Row} keyed by field name. */
export function readPgRow(fields: readonly PgField[], values: readonly unknown[]): Row {
  const row: Record<string, Value> = {};
  fields.forEach((field, index) => {
    const text = values[index];
    assert(text === null || typeof text === 'string', 'values are read as text');
    row[field.name] = readPgValue(field.dataTypeID, text);
  });
  return row;
}

/** Type parsers for `pg` that leave every value as PostgreSQL's text output, for {@link readPgValue}. */
export const textTypes = { getTypeParser: () => (text: string) => text };

/** A parsed array literal: elements as text or null, nested for a multi-dimensional array. */
export type PgArray = (string | null | PgArray)[];

/**
 * The elements of an array literal as PostgreSQL prints it (`{1,2,NULL}`, `{"a b","c\"d"}`, `{{1,2},{3,4}}`,
 * `[0:1]={7,8}` with explicit bounds, which are dropped). Only called for the array types of {@link arrayElements},
 * whose delimiter is a comma.
 */
export function parsePgArray(text: string): PgArray {
  let i = 0;
  if (text.startsWith('[')) {
    // Explicit lower bounds (`[0:1]={...}`): the elements are what JSON can carry.
    i = text.indexOf('=') + 1;
    assert(i > 0, 'an array literal with bounds has "="');
  }
  const parseLevel = (): PgArray => {
    assert(text.charAt(i) === '{', 'an array literal is braced');
    i += 1;
    const items: PgArray = [];
    if (text.charAt(i) === '}') {
      i += 1;
      return items;
    }
    for (;;) {
      if (text.charAt(i) === '{') {
        items.push(parseLevel());
      } else if (text.charAt(i) === '"') {
        let item = '';
        i += 1;
        while (i < text.length && text.charAt(i) !== '"') {
          if (text.charAt(i) === '\\') i += 1;
          item += text.charAt(i);
          i += 1;
        }
        assert(text.charAt(i) === '"', 'a quoted array element is closed');
        i += 1;
        items.push(item);
      } else {
        const start = i;
        while (i < text.length && text.charAt(i) !== ',' && text.charAt(i) !== '}') i += 1;
        const item = text.slice(start, i);
        items.push(item === 'NULL' ? null : item);
      }
      const separator = text.charAt(i);
      i += 1;
      if (separator === '}') return items;
      assert(separator === ',', 'array elements are separated by commas');
    }
  };
  const result = parseLevel();
  assert(i === text.length, 'an array literal ends with its closing brace');
  return result;
}

/** Reads every element of a parsed array with `read`, keeping the nesting. */
function readArray(items: PgArray, read: (text: string) => Value): Value[] {
  return items.map((item) => {
    if (item === null) return null;
    return typeof item === 'string' ? read(item) : readArray(item, read);
  });
}
