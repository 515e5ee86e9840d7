import { assert } from '../internal/assert.js';

/**
 * An exact decimal as metering stores it: a canonical string (`"1"`, `"2.5"`, `"-0.001"`), with no exponent, no
 * leading `+`, no superfluous zeros, and `"0"` for zero. Arithmetic goes through a BigInt mantissa and a scale, so
 * sums never lose a digit the way binary floating point does.
 */
export type DecimalString = string;

/** The most characters a decimal input may have, and the largest exponent magnitude it may use. */
export const decimalInputLengthMax = 200;
const exponentMax = 400;

interface Scaled {
  readonly mantissa: bigint;
  readonly scale: number;
}

const inputPattern = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * Parses a metering value: a finite JSON number (read through `String(n)`, so `0.1` is exactly `"0.1"`) or a numeric
 * string (`"12"`, `"-3.50"`, `"1e3"`).
 * @returns the canonical {@link DecimalString}, or null for anything else (NaN, Infinity, booleans, empty or
 *   malformed text, more than {@link decimalInputLengthMax} characters, or an exponent beyond ±400).
 */
export function parseDecimal(value: unknown): DecimalString | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    text = String(value);
  } else if (typeof value === 'string') {
    text = value;
  } else {
    return null;
  }
  if (text.length > decimalInputLengthMax) return null;
  return canonicalize(text);
}

/**
 * Reads a decimal that a metering store wrote (`numeric::text`, or a canonical string kept as text) back to its
 * canonical form. Unlike {@link parseDecimal} it has no length limit: the limit bounds what one event may carry, and a
 * canonical value is longer than its input (`"1e400"` has 401 digits) and a sum longer than its terms.
 * @returns null when the text is not a plain decimal.
 */
export function parseStoredDecimal(text: string): DecimalString | null {
  return canonicalize(text);
}

function canonicalize(text: string): DecimalString | null {
  if (text.length === 0) return null;
  const match = inputPattern.exec(text);
  if (match === null) return null;
  const [, sign = '', whole = '', fraction = '', exponentText = '0'] = match;
  const exponent = Number(exponentText);
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > exponentMax) return null;
  let mantissa = BigInt(whole + fraction);
  if (sign === '-') mantissa = -mantissa;
  let scale = fraction.length - exponent;
  if (scale < 0) {
    mantissa *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return format({ mantissa, scale });
}

/** Like {@link parseDecimal} for a value already known to be canonical; asserts that it is. */
function scaled(value: DecimalString): Scaled {
  const match = inputPattern.exec(value);
  assert(match !== null, `a stored decimal is canonical: ${JSON.stringify(value)}`);
  const [, sign = '', whole = '', fraction = '', exponent] = match;
  assert(exponent === undefined, 'a canonical decimal has no exponent');
  const magnitude = BigInt(whole + fraction);
  return { mantissa: sign === '-' ? -magnitude : magnitude, scale: fraction.length };
}

function align(a: Scaled, b: Scaled): { a: bigint; b: bigint; scale: number } {
  const scale = Math.max(a.scale, b.scale);
  return {
    a: a.mantissa * 10n ** BigInt(scale - a.scale),
    b: b.mantissa * 10n ** BigInt(scale - b.scale),
    scale,
  };
}

/** The exact sum of two decimals. */
export function addDecimal(a: DecimalString, b: DecimalString): DecimalString {
  const aligned = align(scaled(a), scaled(b));
  return format({ mantissa: aligned.a + aligned.b, scale: aligned.scale });
}

/** Compares two decimals by value: -1, 0 or 1. */
export function compareDecimal(a: DecimalString, b: DecimalString): -1 | 0 | 1 {
  const aligned = align(scaled(a), scaled(b));
  if (aligned.a === aligned.b) return 0;
  return aligned.a < aligned.b ? -1 : 1;
}

/** The smaller of two decimals. */
export function minDecimal(a: DecimalString, b: DecimalString): DecimalString {
  return compareDecimal(a, b) <= 0 ? a : b;
}

/** The larger of two decimals. */
export function maxDecimal(a: DecimalString, b: DecimalString): DecimalString {
  return compareDecimal(a, b) >= 0 ? a : b;
}

/** Renders a scaled value canonically: no trailing fraction zeros, no leading zeros, `"0"` for zero. */
function format(value: Scaled): DecimalString {
  let { mantissa, scale } = value;
  while (scale > 0 && mantissa % 10n === 0n) {
    mantissa /= 10n;
    scale -= 1;
  }
  if (mantissa === 0n) return '0';
  const negative = mantissa < 0n;
  const digits = (negative ? -mantissa : mantissa).toString();
  const sign = negative ? '-' : '';
  if (scale === 0) return sign + digits;
  const padded = digits.padStart(scale + 1, '0');
  return `${sign}${padded.slice(0, padded.length - scale)}.${padded.slice(padded.length - scale)}`;
}
