import { describe, expect, it } from 'vitest';
import { bucketStartOf, ceilToUnit, formatUtcTimestamp, windowOf } from './buckets.js';

const at = (text: string): number => Date.parse(text);

describe('bucket math', () => {
  it('floors to the UTC minute and ceils to the next', () => {
    expect(bucketStartOf(at('2026-02-11T10:30:59.999Z'))).toBe(at('2026-02-11T10:30:00Z'));
    expect(bucketStartOf(at('1969-12-31T23:59:30Z'))).toBe(at('1969-12-31T23:59:00Z'));
    expect(ceilToUnit(at('2026-02-11T10:30:00.001Z'), 60_000)).toBe(at('2026-02-11T10:31:00Z'));
    expect(ceilToUnit(at('2026-02-11T10:30:00Z'), 60_000)).toBe(at('2026-02-11T10:30:00Z'));
  });

  it('aligns windows to UTC boundaries and clips them to the range', () => {
    const range = { startMs: at('2026-02-11T10:20:00Z'), endMs: at('2026-02-12T01:00:00Z') };
    expect(windowOf(at('2026-02-11T10:25:00Z'), '1h', range)).toEqual({
      startMs: range.startMs,
      endMs: at('2026-02-11T11:00:00Z'),
    });
    expect(windowOf(at('2026-02-12T00:59:00Z'), '1d', range)).toEqual({
      startMs: at('2026-02-12T00:00:00Z'),
      endMs: range.endMs,
    });
    expect(windowOf(at('2026-02-11T12:00:00Z'), 'total', range)).toEqual(range);
    expect(windowOf(at('2026-02-11T12:00:00Z'), '1m', range)).toEqual({
      startMs: at('2026-02-11T12:00:00Z'),
      endMs: at('2026-02-11T12:01:00Z'),
    });
  });

  it('formats whole seconds without milliseconds', () => {
    expect(formatUtcTimestamp(at('2026-02-11T10:00:00Z'))).toBe('2026-02-11T10:00:00Z');
    expect(formatUtcTimestamp(at('2026-02-11T10:00:00.250Z'))).toBe('2026-02-11T10:00:00.250Z');
  });
});
