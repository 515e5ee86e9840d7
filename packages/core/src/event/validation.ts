import { invalidRequest, AevonError } from '../errors/aevon-error.js';
import type { Limits } from '../limits.js';
import type { ExpectedRevision } from './event.js';

/** UTF-8 byte length of a string, without TextEncoder (core runs anywhere). Lone surrogates count as 3 bytes. */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i += 1;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** True when a string has no lone UTF-16 surrogate (so it encodes to valid UTF-8). */
export function isWellFormedText(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i += 1;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) return false;
  }
  return true;
}

// Control characters (C0, DEL, C1) are never allowed in names: they break logs, paths and terminals.
// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Checks a name-like string (stream id, event id, type): non-empty, at most `max` characters, well-formed, and
 * free of control characters.
 * @throws AEV_REQUEST_INVALID naming `field`.
 */
export function checkName(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string') throw invalidRequest('must be a string', field);
  if (value.length === 0) throw invalidRequest('must not be empty', field);
  if (value.length > max) throw invalidRequest(`must be at most ${max} characters`, field);
  if (controlCharacters.test(value))
    throw invalidRequest('must not contain control characters', field);
  if (!isWellFormedText(value)) throw invalidRequest('must be well-formed Unicode', field);
  return value;
}

const rfc3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parses an RFC 3339 timestamp with a zone (`Z` or an offset) to epoch milliseconds.
 * @returns null when the text is not a valid RFC 3339 date-time or lies outside years 0001-9999.
 */
export function parseTimestamp(text: string): number | null {
  const match = rfc3339.exec(text);
  if (match === null) return null;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  const hour = Number(match[4]);
  const minute = Number(match[5]);
  const second = Number(match[6]);
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59)
    return null;
  if (day > daysInMonth(year, month)) return null;
  const zone = match[8];
  // UTC (`Z`) from year 100 on: the fields give the instant directly (Date.UTC maps years 0-99 to 1900-1999, and an
  // offset needs Date.parse's checks), the fraction truncated to milliseconds as Date.parse does.
  if ((zone === 'Z' || zone === 'z') && year >= 100) {
    const fraction = match[7];
    const ms = fraction === undefined ? 0 : Number(`${fraction.slice(1, 4)}00`.slice(0, 3));
    return Date.UTC(year, month - 1, day, hour, minute, second, ms);
  }
  const ms = Date.parse(text.toUpperCase());
  return Number.isFinite(ms) ? ms : null;
}

/** Days in `month` (1-12) of a proleptic Gregorian `year`. */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Checks an expected revision given at runtime (the type system does not reach JSON or JavaScript callers). */
export function checkExpectedRevision(value: unknown, field = 'expected'): ExpectedRevision {
  if (value === 'any' || value === 'no_stream' || value === 'stream_exists') return value;
  if (typeof value === 'bigint' && value >= 0n) return value;
  throw invalidRequest(
    'must be "any", "no_stream", "stream_exists" or a revision (bigint >= 0)',
    field,
  );
}

/** True for a plain JSON object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

// JSON.stringify escapes NUL as \u0000 and a lone surrogate as \udXXX (well-formed stringify); an even run of
// backslashes before it means the escape is real, not an escaped backslash followed by text. Neither can be stored by
// every engine (PostgreSQL jsonb rejects both), so every engine rejects them alike.
const unstorableEscape = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/** The deepest nesting of objects and arrays in a JSON text, found by a scan rather than by recursion. */
function jsonDepth(json: string): number {
  let depth = 0;
  let depthMax = 0;
  let isInString = false;
  for (let i = 0; i < json.length; i += 1) {
    const char = json.charCodeAt(i);
    if (isInString) {
      if (char === 0x5c) i += 1;
      else if (char === 0x22) isInString = false;
    } else if (char === 0x22) isInString = true;
    else if (char === 0x7b || char === 0x5b) depthMax = Math.max(depthMax, (depth += 1));
    else if (char === 0x7d || char === 0x5d) depth -= 1;
  }
  return depthMax;
}

/**
 * Checks an event's data and metadata and returns their UTF-8 size as JSON.
 * @throws AEV_REQUEST_INVALID for a non-object or non-JSON data, data nested deeper than `limits.eventDataDepthMax`,
 *   or non-string metadata;
 *   AEV_EVENT_DATA_TOO_LARGE above `limits.eventDataBytesMax`.
 */
export function checkPayload(id: string, data: unknown, metadata: unknown, limits: Limits): number {
  return serializePayload(id, data, metadata, limits).bytes;
}

/**
 * {@link checkPayload}, also returning the data as the JSON text it checked, so that a storage can write that text
 * rather than serializing the data a second time.
 * @throws as {@link checkPayload}.
 */
export function serializePayload(
  id: string,
  data: unknown,
  metadata: unknown,
  limits: Limits,
): { readonly json: string; readonly bytes: number } {
  if (!isPlainObject(data)) throw invalidRequest('must be a JSON object', 'data');
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch {
    throw invalidRequest('must be serializable as JSON', 'data');
  }
  if (unstorableEscape.test(json)) {
    throw invalidRequest('must not contain NUL characters or lone UTF-16 surrogates', 'data');
  }
  if (jsonDepth(json) > limits.eventDataDepthMax) {
    throw invalidRequest(`must nest at most ${limits.eventDataDepthMax} levels deep`, 'data');
  }
  let bytes = utf8ByteLength(json);
  if (!isPlainObject(metadata)) throw invalidRequest('must be an object of strings', 'metadata');
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string')
      throw invalidRequest(`value of ${JSON.stringify(key)} must be a string`, 'metadata');
    if (
      !isWellFormedText(key) ||
      !isWellFormedText(value) ||
      key.includes('\u0000') ||
      value.includes('\u0000')
    ) {
      throw invalidRequest('must not contain NUL characters or lone UTF-16 surrogates', 'metadata');
    }
    bytes += utf8ByteLength(key) + utf8ByteLength(value) + 6;
  }
  if (bytes > limits.eventDataBytesMax) {
    throw new AevonError('AEV_EVENT_DATA_TOO_LARGE', { id, bytes, max: limits.eventDataBytesMax });
  }
  return { json, bytes };
}
