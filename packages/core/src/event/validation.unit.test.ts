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
    '+275760-09-13T00:00:00Z',
    'yesterday',
    '',
  ])('rejects %s', (text) => {
    expect(parseTimestamp(text)).toBeNull();
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
