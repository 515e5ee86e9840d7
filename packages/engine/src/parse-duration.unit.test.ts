import { describe, expect, it } from 'vitest';
import { parseDuration } from './parse-duration.js';

describe('parseDuration', () => {
  it('parses one integer and one unit', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1d')).toBe(86_400_000);
  });

  it('rejects anything else', () => {
    for (const text of ['', '1', 'm', '1.5m', '-1s', '1 m', '1w', '2m30s']) {
      expect(() => parseDuration(text), text).toThrow(
        expect.objectContaining({ code: 'AEV_REQUEST_INVALID' }),
      );
    }
  });
});
