import type { DataType, DefaultValue, Literal } from './model.js';
import { readLiteral } from './write/values.js';

/** PostgreSQL's bound on varchar(n) and char(n). */
export const characterLengthMax = 10_485_760;
/** PostgreSQL's bound on numeric precision; scale lies in ±this (PostgreSQL 15 and later). */
export const numericPrecisionMax = 1000;
/** PostgreSQL's bound on fractional-second digits of timestamp(p). */
export const timestampPrecisionMax = 6;

/** The type as DDL writes it: `varchar(40)`, `numeric(10,2)`, `text[]`. */
export function formatDataType(type: DataType): string {
  let text: string = type.name;
  if (type.length !== undefined) text += `(${type.length})`;
  if (type.precision !== undefined) {
    text += type.scale === undefined ? `(${type.precision})` : `(${type.precision},${type.scale})`;
  }
  return type.array === true ? `${text}[]` : text;
}

/** Why a type is not valid as written (a length or precision out of PostgreSQL's range), or undefined. */
export function dataTypeProblem(type: DataType): string | undefined {
  const { name } = type;
  if (type.length !== undefined && name !== 'varchar' && name !== 'char')
    return `${name} takes no length`;
  if (type.length !== undefined && (type.length < 1 || type.length > characterLengthMax)) {
    return `length for type ${name} must be between 1 and ${characterLengthMax}, not ${type.length}`;
  }
  if (type.precision !== undefined) {
    if (name === 'numeric') {
      if (type.precision < 1 || type.precision > numericPrecisionMax) {
        return `NUMERIC precision ${type.precision} must be between 1 and ${numericPrecisionMax}`;
      }
    } else if (name === 'timestamp' || name === 'timestamptz') {
      if (type.precision > timestampPrecisionMax) {
        return `${name.toUpperCase()}(${type.precision}) precision must be between 0 and ${timestampPrecisionMax}`;
      }
    } else {
      return `${name} takes no precision`;
    }
  }
  if (type.scale !== undefined) {
    if (name !== 'numeric' || type.precision === undefined)
      return 'a scale needs NUMERIC(precision, scale)';
    if (type.scale < -numericPrecisionMax || type.scale > numericPrecisionMax) {
      return `NUMERIC scale ${type.scale} must be between ${-numericPrecisionMax} and ${numericPrecisionMax}`;
    }
  }
  if (type.array === true && isSerial(type)) return `array of ${name} is not supported`;
  return undefined;
}

export function isSerial(type: DataType): boolean {
  return type.name === 'serial' || type.name === 'bigserial' || type.name === 'smallserial';
}

/** The type a value of this column has when stored or referenced: a serial is its integer type, without default. */
export function storageType(type: DataType): DataType {
  if (type.name === 'smallserial') return { name: 'smallint' };
  if (type.name === 'serial') return { name: 'integer' };
  if (type.name === 'bigserial') return { name: 'bigint' };
  return type;
}

/**
 * Whether every value of type `from` fits a column of type `to` unchanged: the same base type after
 * serial → integer, the same array-ness, a length no longer than the column's (any varchar/char fits text), and
 * for numeric the same precision and scale when the column has them.
 */
export function assignable(from: DataType, to: DataType): boolean {
  const a = storageType(from);
  const b = storageType(to);
  if ((a.array === true) !== (b.array === true)) return false;
  if (b.name === 'text' && (a.name === 'varchar' || a.name === 'char' || a.name === 'text'))
    return true;
  if (a.name !== b.name) return false;
  if (a.name === 'varchar' || a.name === 'char') {
    const lengthA = a.length ?? (a.name === 'char' ? 1 : Infinity);
    const lengthB = b.length ?? (b.name === 'char' ? 1 : Infinity);
    return a.name === 'char' ? lengthA === lengthB : lengthA <= lengthB;
  }
  if (a.name === 'numeric') {
    return (
      b.precision === undefined ||
      (a.precision === b.precision && (a.scale ?? 0) === (b.scale ?? 0))
    );
  }
  return true;
}

const integerRanges: Readonly<Record<string, readonly [bigint, bigint]>> = {
  smallint: [-(2n ** 15n), 2n ** 15n - 1n],
  integer: [-(2n ** 31n), 2n ** 31n - 1n],
  bigint: [-(2n ** 63n), 2n ** 63n - 1n],
};

/** Why a DEFAULT does not fit its column or field type, or undefined when it does. */
export function defaultProblem(
  type: DataType,
  value: DefaultValue,
  notNull: boolean,
): string | undefined {
  const name = formatDataType(type);
  if (isSerial(type)) return `a ${type.name} column takes no DEFAULT (it has its own sequence)`;
  if (value.kind === 'function') {
    const fits =
      value.name === 'gen_random_uuid'
        ? type.name === 'uuid'
        : value.name === 'current_date'
          ? type.name === 'date' || type.name === 'timestamp' || type.name === 'timestamptz'
          : type.name === 'timestamptz' || type.name === 'timestamp' || type.name === 'date';
    return fits && type.array !== true
      ? undefined
      : `DEFAULT ${value.name.toUpperCase()}${value.name === 'now' || value.name === 'gen_random_uuid' ? '()' : ''} does not fit type ${name}`;
  }
  const problem = literalProblem(type, value.literal, notNull);
  if (problem !== undefined) return problem;
  // The literal must also read as a value the way it is evaluated at write time (an array literal's elements, a
  // timestamp's zone, a jsonb string's characters), so that a default the check accepts never fails later.
  const read = readLiteral(type, value.literal);
  return read.ok
    ? undefined
    : `DEFAULT ${showLiteral(value.literal)} does not fit type ${formatDataType(type)}: ${read.reason}`;
}

function literalProblem(type: DataType, literal: Literal, notNull: boolean): string | undefined {
  const name = formatDataType(type);
  const bad = (why: string): string =>
    `DEFAULT ${showLiteral(literal)} does not fit type ${name}: ${why}`;
  if (literal.kind === 'null') return notNull ? 'DEFAULT NULL contradicts NOT NULL' : undefined;
  if (type.array === true) {
    return literal.kind === 'string' && /^\{.*\}$/s.test(literal.value)
      ? undefined
      : bad("an array default is an array literal such as '{}' or '{1,2}'");
  }
  switch (type.name) {
    case 'smallint':
    case 'integer':
    case 'bigint': {
      if (literal.kind !== 'number' || !/^-?\d+$/.test(literal.text))
        return bad('expected an integer');
      const [min, max] = integerRanges[type.name] as readonly [bigint, bigint];
      const n = BigInt(literal.text);
      return n < min || n > max ? bad(`out of range ${min} to ${max}`) : undefined;
    }
    case 'numeric': {
      if (literal.kind !== 'number') return bad('expected a number');
      if (type.precision === undefined) return undefined;
      const scale = type.scale ?? 0;
      // PostgreSQL rounds to `scale` fraction digits, then needs at most precision - scale integer digits.
      return magnitude(literal.text) > type.precision - scale
        ? bad(
            `a numeric(${type.precision},${scale}) holds values below 10^${type.precision - scale}`,
          )
        : undefined;
    }
    case 'real':
    case 'double precision':
      return literal.kind === 'number' ? undefined : bad('expected a number');
    case 'boolean':
      return literal.kind === 'boolean' ? undefined : bad('expected TRUE or FALSE');
    case 'text':
    case 'varchar':
    case 'char': {
      if (literal.kind !== 'string') return bad('expected a string');
      const length = [...literal.value].length;
      const max = type.length ?? (type.name === 'char' ? 1 : undefined);
      return max !== undefined && length > max
        ? bad(`${length} characters, at most ${max}`)
        : undefined;
    }
    case 'uuid':
      return literal.kind === 'string' &&
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(literal.value)
        ? undefined
        : bad('expected a UUID string');
    case 'date':
      return literal.kind === 'string' && isDate(literal.value)
        ? undefined
        : bad("expected 'YYYY-MM-DD'");
    case 'timestamp':
    case 'timestamptz':
      return literal.kind === 'string' && isTimestamp(literal.value)
        ? undefined
        : bad("expected an ISO 8601 timestamp such as '2024-01-31T12:00:00Z'");
    case 'jsonb':
      return literal.kind === 'string' && isJson(literal.value)
        ? undefined
        : bad('expected a JSON string');
    case 'smallserial':
    case 'serial':
    case 'bigserial':
      return bad('a serial takes no DEFAULT');
  }
}

export function showLiteral(literal: Literal): string {
  switch (literal.kind) {
    case 'string':
      return `'${literal.value.replace(/'/g, "''")}'`;
    case 'number':
      return literal.text;
    case 'boolean':
      return literal.value ? 'TRUE' : 'FALSE';
    case 'null':
      return 'NULL';
  }
}

/**
 * The decimal magnitude of a number: how many digits it has before the point, counted from its first non-zero digit
 * (negative for values below 0.1: 0.05 → -1), and -Infinity for zero. A numeric(p,s) holds magnitudes up to p - s.
 */
function magnitude(text: string): number {
  const [mantissa = '', exponentText] = text.replace(/^-/, '').split('e');
  const exponent = exponentText === undefined ? 0 : Number(exponentText);
  const [whole = '', fraction = ''] = mantissa.split('.');
  const first = (whole + fraction).search(/[1-9]/);
  return first === -1 ? -Infinity : whole.length - first + exponent;
}

function isDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (m === null) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

function isTimestamp(text: string): boolean {
  const m =
    /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(
      text,
    );
  if (m === null) return isDate(text);
  return isDate(m[1] as string) && Number(m[2]) < 24 && Number(m[3]) < 60 && Number(m[4] ?? 0) < 60;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
