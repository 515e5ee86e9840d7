import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAevonError } from '../errors/aevon-error.js';
import { defaultLimits } from '../limits.js';
import { checkPayload, isWellFormedText, parseTimestamp, utf8ByteLength } from './validation.js';

describe('parseTimestamp', () => {
  it.each([
    ['2026-02-11T10:30:00Z', Date.UTC(2026, 1, 11, 10, 30)],
    ['2026-02-11t10:30:00z', Date.UTC(2026, 1, 11, 10, 30)],
    ['2026-02-11T10:30:00.123Z', Date.UTC(2026, 1, 11, 10, 30, 0, 123)],
    ['2026-02-11T12:30:00+02:00', Date.UTC(2026, 1, 11, 10, 30)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29)],
    ['2026-02-11T10:30:00.5Z', Date.UTC(2026, 1, 11, 10, 30, 0, 500)],
    ['2026-02-11T10:30:00.123999999Z', Date.UTC(2026, 1, 11, 10, 30, 0, 123)],
    ['0099-12-31T23:59:59Z', Date.parse('0099-12-31T23:59:59Z')],
    ['0100-01-01T00:00:00Z', Date.parse('0100-01-01T00:00:00Z')],
  ])('parses %s', (text, expected) => {
    expect(parseTimestamp(text)).toBe(expected);
  });

  it.each([
    '2026-02-11T10:30:00',
    '2026-02-11 10:30:00Z',
    '2026-02-30T10:30:00Z',
    '2025-02-29T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-02-11T24:00:00Z',
    '0000-01-01T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '+275760-09-13T00:00:00Z',
    'yesterday',
    '',
  ])('rejects %s', (text) => {
    expect(parseTimestamp(text)).toBeNull();
  });

  it('gives the instant Date.parse gives for every valid RFC 3339 text, in UTC or with an offset', () => {
    // The UTC path computes the instant from the fields (truncating the fraction to milliseconds); Date.parse is
    // the reference for every zone.
    const digits = (width: number, min: number, max: number) =>
      fc.integer({ min, max }).map((n) => String(n).padStart(width, '0'));
    const text = fc
      .tuple(
        digits(4, 1, 9999),
        digits(2, 1, 12),
        digits(2, 1, 28),
        digits(2, 0, 23),
        digits(2, 0, 59),
        digits(2, 0, 59),
        fc.option(fc.stringMatching(/^\.[0-9]{1,9}$/), { nil: undefined }),
        fc.constantFrom('Z', 'z', '+00:00', '-05:30', '+14:00'),
      )
      .map(
        ([y, mo, d, h, mi, s, fraction, zone]) =>
          `${y}-${mo}-${d}T${h}:${mi}:${s}${fraction ?? ''}${zone}`,
      );
    fc.assert(
      fc.property(text, (t) => {
        expect(parseTimestamp(t)).toBe(Date.parse(t.toUpperCase()));
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('text helpers', () => {
  it('counts UTF-8 bytes like an encoder does', () => {
    for (const text of ['', 'abc', 'ü', '日本', '😀', 'a😀b\u2028']) {
      expect(utf8ByteLength(text)).toBe(Buffer.byteLength(text, 'utf8'));
    }
  });

  it('finds lone surrogates', () => {
    expect(isWellFormedText('ok 😀')).toBe(true);
    expect(isWellFormedText('\ud800')).toBe(false);
    expect(isWellFormedText('\udc00x')).toBe(false);
  });
});

describe('checkPayload nesting', () => {
  const nest = (depth: number): Record<string, unknown> => {
    let data: Record<string, unknown> = {};
    for (let level = 1; level < depth; level += 1) data = { a: data };
    return data;
  };

  it('accepts data nested exactly eventDataDepthMax levels, counting the data object itself', () => {
    expect(() => checkPayload('e', nest(64), {}, defaultLimits)).not.toThrow();
    expect(() =>
      checkPayload('e', { a: [[['[{"not":"nesting"}]']]] }, {}, defaultLimits),
    ).not.toThrow();
  });

  it('rejects data one level deeper with AEV_REQUEST_INVALID naming data', () => {
    expect.assertions(2);
    try {
      checkPayload('e', nest(65), {}, defaultLimits);
    } catch (error) {
      expect(isAevonError(error, 'AEV_REQUEST_INVALID')).toBe(true);
      expect((error as { details: unknown }).details).toEqual({
        reason: 'must nest at most 64 levels deep',
        field: 'data',
      });
    }
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const data = { a: '\\"[[[[[[[[', b: '"{{{{{{{{{{{{' };
    expect(() =>
      checkPayload('e', data, {}, { ...defaultLimits, eventDataDepthMax: 1 }),
    ).not.toThrow();
  });
});
