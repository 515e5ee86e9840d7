import { assert, isWellFormedText } from '@aevon/core';
import { formatDataType, isSerial, storageType } from '../data-type.js';
import type { DataType, DefaultValue, Literal } from '../model.js';
import type { JsonObject, Value } from '../store/aggregate-store.js';

/** What a DEFAULT needs to be evaluated: the current time (ISO 8601, UTC) and a source of UUIDs. */
export interface DefaultContext {
  readonly now: string;
  readonly uuid: () => string;
}

/** The outcome of coercing an input to a type: its canonical value, or why it does not fit. */
export type Coerced = { ok: true; value: Value } | { ok: false; reason: string };

/** Digits a numeric value may have before the decimal point (PostgreSQL's bound for unconstrained numeric). */
export const numericIntegerDigitsMax = 131_072;
/** Digits a numeric value may have after the decimal point (PostgreSQL's bound). */
export const numericFractionDigitsMax = 16_383;
/** Characters of numeric text read at most, before any other check (a bound on work, not on values). */
export const numericTextLengthMax = 200_000;
/** Nesting depth of a jsonb value, at most. */
export const jsonDepthMax = 256;

const integerBounds: Readonly<
  Record<'smallint' | 'integer' | 'bigint', readonly [bigint, bigint]>
> = {
  smallint: [-(2n ** 15n), 2n ** 15n - 1n],
  integer: [-(2n ** 31n), 2n ** 31n - 1n],
  bigint: [-(2n ** 63n), 2n ** 63n - 1n],
};

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const datePattern = /^(\d{4})-(\d{2})-(\d{2})$/;
const rfc3339Pattern =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})?$/;
const numberPattern = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

const ok = (value: Value): Coerced => ({ ok: true, value });
const refuse = (reason: string): Coerced => ({ ok: false, reason });

/**
 * Coerces a JSON input (an event field sent by a client, or a value read back) to `type`'s canonical form (see
 * {@link Value}); `null` is SQL NULL and fits every type (NOT NULL is the caller's check). Never throws: a value that
 * does not fit gives a short reason (`must be at most 40 characters`).
 */
export function coerceValue(type: DataType, input: unknown): Coerced {
  if (input === null) return ok(null);
  if (type.array === true) {
    if (!Array.isArray(input)) return refuse(`must be an array of ${elementName(type)}`);
    const element = elementType(type);
    const values: Value[] = [];
    for (let i = 0; i < input.length; i++) {
      const item: unknown = input[i];
      const coerced = coerceValue(element, item);
      if (!coerced.ok) return refuse(`element ${i}: ${coerced.reason}`);
      values.push(coerced.value);
    }
    return ok(values);
  }
  const base = storageType(type);
  switch (base.name) {
    case 'smallint':
    case 'integer':
      return coerceInteger(base.name, input);
    case 'bigint':
      return coerceInteger('bigint', input);
    case 'numeric':
      return coerceNumeric(base, input);
    case 'real':
    case 'double precision':
      return coerceFloat(base.name, input);
    case 'boolean':
      return typeof input === 'boolean' ? ok(input) : refuse('must be true or false');
    case 'text':
    case 'varchar':
    case 'char':
      return coerceText(base, input);
    case 'uuid':
      return typeof input === 'string' && uuidPattern.test(input)
        ? ok(input.toLowerCase())
        : refuse('must be a UUID such as "123e4567-e89b-12d3-a456-426614174000"');
    case 'date':
      return typeof input === 'string' && parseDate(input) !== null
        ? ok(input)
        : refuse('must be a date YYYY-MM-DD');
    case 'timestamp':
    case 'timestamptz':
      return coerceTimestamp(base, input);
    case 'jsonb':
      return coerceJson(input);
    case 'smallserial':
    case 'serial':
    case 'bigserial':
      // storageType maps every serial to its integer type.
      return refuse(`cannot hold a ${base.name}`);
  }
}

function elementType(type: DataType): DataType {
  const { array: _array, ...element } = type;
  void _array;
  return element;
}

function elementName(type: DataType): string {
  return formatDataType(elementType(type));
}

function coerceInteger(name: 'smallint' | 'integer' | 'bigint', input: unknown): Coerced {
  const [min, max] = integerBounds[name];
  const range = `must be an integer between ${min} and ${max}`;
  let n: bigint;
  if (typeof input === 'number') {
    if (!Number.isInteger(input)) return refuse(range);
    if (!Number.isSafeInteger(input)) {
      return refuse(
        name === 'bigint'
          ? 'is beyond 2^53 and imprecise as a JSON number: send it as a decimal string'
          : range,
      );
    }
    n = BigInt(input);
  } else if (name === 'bigint' && typeof input === 'string' && /^[+-]?\d{1,30}$/.test(input)) {
    n = BigInt(input);
  } else {
    return refuse(range);
  }
  if (n < min || n > max) return refuse(range);
  return ok(canonicalInteger(n));
}

/** A bigint's canonical form: a number when it is a safe integer, else its decimal text. */
function canonicalInteger(n: bigint): Value {
  const asNumber = Number(n);
  return Number.isSafeInteger(asNumber) ? asNumber : n.toString();
}

/** A decimal number as digits: value = sign × 0.digits… handled as integer `digits` with `scale` fraction digits. */
interface Decimal {
  readonly negative: boolean;
  /** Digits without leading zeros ('' for zero). */
  readonly digits: string;
  /** How many of `digits` (from the right) lie after the decimal point; may exceed digits.length or be negative. */
  readonly scale: number;
}

function parseDecimal(text: string): Decimal | string {
  if (text.length > numericTextLengthMax) return 'is too long';
  const m = numberPattern.exec(text);
  if (m === null) return 'must be a number or a decimal string';
  const whole = m[2] ?? '';
  const fraction = m[3] ?? '';
  if (whole === '' && fraction === '') return 'must be a number or a decimal string';
  const exponent = m[4] === undefined ? 0 : Number(m[4]);
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > numericTextLengthMax) {
    return 'is out of range for numeric';
  }
  const all = (whole + fraction).replace(/^0+/, '');
  return { negative: m[1] === '-', digits: all, scale: fraction.length - exponent };
}

/** Rounds to `scale` fraction digits, half away from zero (PostgreSQL's numeric rounding). */
function roundDecimal(d: Decimal, scale: number): Decimal {
  if (d.scale <= scale) return d;
  const drop = d.scale - scale;
  if (drop > d.digits.length) return { negative: d.negative, digits: '', scale };
  const kept = d.digits.slice(0, d.digits.length - drop);
  const first = d.digits.charAt(d.digits.length - drop);
  let n = kept === '' ? 0n : BigInt(kept);
  if (first >= '5') n += 1n;
  const digits = n === 0n ? '' : n.toString();
  return { negative: d.negative, digits, scale };
}

/** Digits before the decimal point (0 for values below 1). */
function integerDigits(d: Decimal): number {
  return Math.max(0, d.digits.length - d.scale);
}

/** The decimal text with exactly `displayScale` fraction digits (≥ 0) of an already rounded decimal. */
function formatDecimal(d: Decimal, displayScale: number): string {
  let digits = d.digits;
  let scale = d.scale;
  if (scale < displayScale) {
    digits += '0'.repeat(displayScale - scale);
    scale = displayScale;
  }
  // scale > displayScale only when the dropped digits are zeros (rounded before): trim them.
  if (scale > displayScale) {
    digits = digits.slice(0, digits.length - (scale - displayScale));
    scale = displayScale;
  }
  const padded = digits.padStart(scale + 1, '0');
  const whole = padded.slice(0, padded.length - scale);
  const fraction = padded.slice(padded.length - scale);
  const zero = /^0*$/.test(digits);
  const sign = d.negative && !zero ? '-' : '';
  return scale === 0 ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
}

function coerceNumeric(type: DataType, input: unknown): Coerced {
  let text: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return refuse('must be a finite number');
    text = String(input);
  } else if (typeof input === 'string') {
    text = input;
  } else {
    return refuse('must be a number or a decimal string');
  }
  const parsed = parseDecimal(text);
  if (typeof parsed === 'string') return refuse(parsed);
  if (type.precision === undefined) {
    // Unconstrained: exact, keeping the written fraction digits (PostgreSQL's display scale).
    const displayScale = Math.max(0, parsed.scale);
    if (
      displayScale > numericFractionDigitsMax ||
      integerDigits(parsed) > numericIntegerDigitsMax
    ) {
      return refuse('is out of range for numeric');
    }
    return ok(formatDecimal(roundDecimal(parsed, displayScale), displayScale));
  }
  const scale = type.scale ?? 0;
  const rounded = roundDecimal(parsed, scale);
  const room = type.precision - scale;
  if (integerDigits(rounded) > Math.max(0, room) || (room < 0 && !fitsBelow(rounded, room))) {
    return refuse(
      `must be a ${formatDataType(type)}: ` +
        (room > 0
          ? `at most ${room} digit${room === 1 ? '' : 's'} before the decimal point`
          : `an absolute value below 10^${room}`),
    );
  }
  return ok(formatDecimal(rounded, Math.max(0, scale)));
}

/** For numeric(p,s) with s > p: the value's magnitude is below 10^(p-s). */
function fitsBelow(d: Decimal, room: number): boolean {
  if (d.digits === '') return true;
  return d.digits.length - d.scale <= room;
}

function coerceFloat(name: 'real' | 'double precision', input: unknown): Coerced {
  if (typeof input !== 'number' || !Number.isFinite(input))
    return refuse('must be a finite number');
  if (name === 'double precision') return ok(Object.is(input, -0) ? 0 : input);
  // As PostgreSQL's float4in: a value that rounds to infinity, or a non-zero one that rounds to zero, is refused.
  const single = Math.fround(input);
  if (!Number.isFinite(single) || (single === 0 && input !== 0)) {
    return refuse('is out of range for real');
  }
  return ok(shortestReal(input));
}

/** The shortest decimal that reads back as the same float4 (what PostgreSQL prints for a real), as a number. */
function shortestReal(value: number): number {
  const single = Math.fround(value);
  if (single === 0) return 0;
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(single.toPrecision(digits));
    if (Math.fround(candidate) === single) return candidate;
  }
  return single;
}

function coerceText(type: DataType, input: unknown): Coerced {
  if (typeof input !== 'string') return refuse('must be a string');
  if (input.includes('\0')) return refuse('must not contain the NUL character');
  if (!isWellFormedText(input)) return refuse('must be well-formed Unicode');
  const max = type.length ?? (type.name === 'char' ? 1 : undefined);
  if (max === undefined) return ok(input);
  const chars = [...input];
  let text = input;
  if (chars.length > max) {
    // PostgreSQL truncates excess characters that are all spaces, and refuses anything else.
    if (chars.slice(max).some((c) => c !== ' ')) return refuse(`must be at most ${max} characters`);
    text = chars.slice(0, max).join('');
  }
  if (type.name === 'char') text += ' '.repeat(max - Math.min(chars.length, max));
  return ok(text);
}

/** Year, month, day of a real `YYYY-MM-DD` date in years 0001-9999, or null. */
function parseDate(text: string): readonly [number, number, number] | null {
  const m = datePattern.exec(text);
  if (m === null) return null;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return null;
  return [y, mo, d];
}

function daysInMonth(year: number, month: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month, 0);
  return date.getUTCDate();
}

const microsPerSecond = 1_000_000n;

function coerceTimestamp(type: DataType, input: unknown): Coerced {
  const zoned = type.name === 'timestamptz';
  const shape = zoned
    ? 'must be an RFC 3339 timestamp with a time zone, such as "2024-01-31T12:00:00Z"'
    : 'must be an RFC 3339 timestamp without a time zone, such as "2024-01-31T12:00:00"';
  if (typeof input !== 'string') return refuse(shape);
  const m = rfc3339Pattern.exec(input);
  if (m === null) return refuse(shape);
  const zone = m[8];
  if (zoned && zone === undefined) return refuse(`${shape}: the zone (Z or ±HH:MM) is missing`);
  if (!zoned && zone !== undefined) return refuse(`${shape}: a timestamp takes no zone`);
  const date = parseDate(`${m[1]}-${m[2]}-${m[3]}`);
  const [hour, minute, second] = [Number(m[4]), Number(m[5]), Number(m[6])];
  if (date === null || hour > 23 || minute > 59 || second > 60) return refuse(shape);
  let offsetMinutes = 0;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return refuse(shape);
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  const precision = type.precision ?? 6;
  const fraction = m[7] ?? '';
  let micros = roundFraction(fraction, precision);
  const base = new Date(0);
  base.setUTCFullYear(date[0], date[1] - 1, date[2]);
  base.setUTCHours(hour, minute - offsetMinutes, second, 0);
  micros += BigInt(base.getTime()) * 1000n;
  const text = formatMicros(micros, zoned);
  if (text === null) return refuse(`${shape}: out of range`);
  return ok(text);
}

/** Microseconds of a fraction-of-second digit string, rounded half up to `precision` digits. */
function roundFraction(fraction: string, precision: number): bigint {
  const digits = fraction.slice(0, precision).padEnd(precision, '0');
  let units = digits === '' ? 0n : BigInt(digits);
  if (fraction.length > precision && fraction.charAt(precision) >= '5') units += 1n;
  return units * 10n ** BigInt(6 - precision);
}

/** `YYYY-MM-DDTHH:MM:SS[.ffffff]` (trailing fraction zeros trimmed) of epoch microseconds, or null outside 1-9999. */
function formatMicros(micros: bigint, zoned: boolean): string | null {
  let seconds = micros / microsPerSecond;
  let rest = micros % microsPerSecond;
  if (rest < 0n) {
    rest += microsPerSecond;
    seconds -= 1n;
  }
  const date = new Date(Number(seconds) * 1000);
  const year = date.getUTCFullYear();
  if (year < 1 || year > 9999) return null;
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  let text =
    `${pad(year, 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  if (rest !== 0n) text += `.${rest.toString().padStart(6, '0').replace(/0+$/, '')}`;
  return zoned ? `${text}Z` : text;
}

function coerceJson(input: unknown): Coerced {
  const problem = jsonProblem(input, 0);
  return problem === undefined ? ok(canonicalJson(input) as Value) : refuse(problem);
}

/**
 * A checked JSON value with every object's keys in PostgreSQL's jsonb order (shorter keys first, then by UTF-8 bytes),
 * so that equal jsonb values have one form on every engine and compare equal as text.
 */
function canonicalJson(value: unknown): unknown {
  if (Array.isArray(value)) return (value as unknown[]).map(canonicalJson);
  if (value === null || typeof value !== 'object') return Object.is(value, -0) ? 0 : value;
  const encoder = new TextEncoder();
  const keys = Object.keys(value).map((key) => ({ key, bytes: encoder.encode(key) }));
  keys.sort((a, b) => a.bytes.length - b.bytes.length || compareBytes(a.bytes, b.bytes));
  const result: Record<string, unknown> = {};
  for (const { key } of keys) put(result, key, canonicalJson((value as JsonObject)[key]));
  return result;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}

function jsonProblem(value: unknown, depth: number): string | undefined {
  if (depth > jsonDepthMax) return `must nest at most ${jsonDepthMax} levels`;
  if (value === null || typeof value === 'boolean') return undefined;
  if (typeof value === 'number')
    return Number.isFinite(value) ? undefined : 'must hold finite numbers only';
  if (typeof value === 'string') return stringProblem(value);
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) {
      const problem = jsonProblem(item, depth + 1);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, item] of Object.entries(value as JsonObject)) {
      const problem = stringProblem(key) ?? jsonProblem(item, depth + 1);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  return 'must be a JSON value';
}

function stringProblem(text: string): string | undefined {
  if (text.includes('\0')) return 'must not contain the NUL character';
  return isWellFormedText(text) ? undefined : 'must be well-formed Unicode';
}

/**
 * Reads `text` as a value of `type`, the way PostgreSQL reads a string constant: used for stream path segments
 * (`/accounts/123` → 123 for an integer field) and DEFAULT literals. Integers and numbers from their decimal text,
 * booleans from `true`/`false` (and PostgreSQL's other spellings), arrays from `{a,b}` literals, jsonb from JSON text,
 * every other type as the string itself.
 */
export function coerceFromText(type: DataType, text: string): Coerced {
  if (type.array === true) return coerceArrayLiteral(type, text);
  const base = storageType(type);
  switch (base.name) {
    case 'smallint':
    case 'integer':
    case 'bigint': {
      if (!/^\s*[+-]?\d+\s*$/.test(text)) return coerceValue(base, text);
      const trimmed = text.trim();
      if (base.name === 'bigint') return coerceValue(base, trimmed);
      const n = Number(trimmed);
      return coerceValue(base, Number.isSafeInteger(n) ? n : 0.5);
    }
    case 'numeric':
      return coerceValue(base, text.trim());
    case 'real':
    case 'double precision': {
      const trimmed = text.trim();
      return numberPattern.test(trimmed) && trimmed !== ''
        ? coerceValue(base, Number(trimmed))
        : refuse('must be a finite number');
    }
    case 'boolean': {
      const word = text.trim().toLowerCase();
      if (['t', 'true', 'y', 'yes', 'on', '1'].includes(word)) return ok(true);
      if (['f', 'false', 'n', 'no', 'off', '0'].includes(word)) return ok(false);
      return refuse('must be true or false');
    }
    case 'jsonb':
      try {
        return coerceJson(JSON.parse(text));
      } catch {
        return refuse('must be JSON text');
      }
    case 'text':
    case 'varchar':
    case 'char':
    case 'uuid':
    case 'date':
    case 'timestamp':
    case 'timestamptz':
    case 'smallserial':
    case 'serial':
    case 'bigserial':
      return coerceValue(base, text);
  }
}

/** A one-dimensional PostgreSQL array literal: `{}`, `{1,2}`, `{"a b",NULL}`. */
function coerceArrayLiteral(type: DataType, text: string): Coerced {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}'))
    return refuse('must be an array literal such as {1,2}');
  const body = trimmed.slice(1, -1);
  const element = elementType(type);
  const values: Value[] = [];
  if (body.trim() === '') return ok(values);
  let i = 0;
  while (i <= body.length) {
    let item = '';
    let quoted = false;
    while (i < body.length && body.charAt(i) === ' ') i++;
    if (body.charAt(i) === '"') {
      quoted = true;
      i++;
      while (i < body.length && body.charAt(i) !== '"') {
        if (body.charAt(i) === '\\') i++;
        item += body.charAt(i);
        i++;
      }
      if (i >= body.length) return refuse('must be an array literal such as {1,2}');
      i++;
      while (i < body.length && body.charAt(i) === ' ') i++;
    } else {
      while (i < body.length && body.charAt(i) !== ',') {
        if (body.charAt(i) === '{' || body.charAt(i) === '"')
          return refuse('must be a one-dimensional array literal');
        item += body.charAt(i);
        i++;
      }
      item = item.trim();
    }
    if (i < body.length && body.charAt(i) !== ',')
      return refuse('must be an array literal such as {1,2}');
    if (!quoted && item === '') return refuse('must be an array literal such as {1,2}');
    if (!quoted && item.toUpperCase() === 'NULL') values.push(null);
    else {
      const coerced = coerceFromText(element, item);
      if (!coerced.ok) return refuse(`element ${values.length}: ${coerced.reason}`);
      values.push(coerced.value);
    }
    i++;
  }
  return ok(values);
}

/**
 * Evaluates a DEFAULT for `type`: a literal read as PostgreSQL reads it; `NOW()`/`CURRENT_TIMESTAMP` is
 * `context.now`, `CURRENT_DATE` its UTC date, `gen_random_uuid()` `context.uuid()`. The catalog check guarantees that
 * the default fits; a mismatch here is a programmer error.
 */
export function evaluateDefault(
  type: DataType,
  value: DefaultValue,
  context: DefaultContext,
): Value {
  const coerced =
    value.kind === 'literal'
      ? readLiteral(type, value.literal)
      : coerceFunction(type, value.name, context);
  assert(
    coerced.ok,
    `DEFAULT does not fit type ${formatDataType(type)}: ${coerced.ok ? '' : coerced.reason} (the catalog check refuses it)`,
  );
  return coerced.value;
}

/**
 * Reads a DEFAULT literal as a value of `type`, as {@link evaluateDefault} does: the catalog check calls it so that
 * every default it accepts evaluates.
 */
export function readLiteral(type: DataType, literal: Literal): Coerced {
  switch (literal.kind) {
    case 'null':
      return ok(null);
    case 'boolean':
      return coerceValue(type, literal.value);
    case 'number':
      return coerceFromText(type, literal.text);
    case 'string': {
      const base = storageType(type);
      if (type.array !== true && (base.name === 'timestamp' || base.name === 'timestamptz')) {
        return coerceValue(base, timestampLiteral(literal.value, base.name === 'timestamptz'));
      }
      return coerceFromText(type, literal.value);
    }
  }
}

/** A DDL timestamp literal (date only, minutes only, `+05` zones) in RFC 3339; a missing zone reads as UTC. */
function timestampLiteral(text: string, zoned: boolean): string {
  const m =
    /^(\d{4}-\d{2}-\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/.exec(
      text.trim(),
    );
  if (m === null) return text;
  const time = `${m[2] ?? '00'}:${m[3] ?? '00'}:${m[4] ?? '00'}${m[5] ?? ''}`;
  let zone = m[6];
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    zone = `${zone.charAt(0)}${digits.slice(0, 2)}:${digits.slice(2, 4).padEnd(2, '0')}`;
  }
  return `${m[1]}T${time}${zoned ? (zone ?? 'Z') : ''}`;
}

function coerceFunction(type: DataType, name: string, context: DefaultContext): Coerced {
  if (name === 'gen_random_uuid') return coerceValue(type, context.uuid());
  const now = coerceValue({ name: 'timestamptz' }, context.now);
  if (!now.ok || typeof now.value !== 'string')
    return refuse(`the clock gave ${JSON.stringify(context.now)}`);
  const utc = now.value.slice(0, -1);
  const day = utc.slice(0, 10);
  const instant = name === 'current_date' ? `${day}T00:00:00` : utc;
  if (type.array === true) return refuse(`${name} gives no ${formatDataType(type)}`);
  if (type.name === 'date') return ok(day);
  if (type.name === 'timestamp') return coerceValue(type, instant);
  if (type.name === 'timestamptz') return coerceValue(type, `${instant}Z`);
  return refuse(`${name} gives no ${formatDataType(type)}`);
}

/** Whether a column or field type is generated from a sequence when left out. */
export function isSerialType(type: DataType | undefined): boolean {
  return type !== undefined && isSerial(type);
}

/** The canonical text of a value: how it appears in a stream path and in error messages. */
export function valueText(value: Value): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The key of a row in maps (the JSON of its canonical primary-key value). */
export function keyJson(value: Value): string {
  return JSON.stringify(value);
}

/**
 * A row's or event's value for a column or field name, null when absent. Only own properties count: a name such as
 * `constructor` or `__proto__` (valid quoted identifiers) must not read `Object.prototype`.
 */
export function own(row: Readonly<Record<string, unknown>>, name: string): Value {
  return Object.hasOwn(row, name) ? ((row[name] as Value | undefined) ?? null) : null;
}

/** Sets a row's or event's value as an own property, even for the name `__proto__`. */
export function put(row: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(row, name, { value, enumerable: true, writable: true, configurable: true });
}
