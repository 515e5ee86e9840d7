import { describe, expect, it } from 'vitest';
import {
  addDecimal,
  compareDecimal,
  maxDecimal,
  minDecimal,
  parseDecimal,
  parseStoredDecimal,
} from './decimal.js';

describe('parseDecimal', () => {
  it('parses JSON numbers and numeric strings canonically', () => {
    const cases: [unknown, string][] = [
      [1, '1'],
      [2.5, '2.5'],
      [-0.001, '-0.001'],
      [0.1, '0.1'],
      ['3.50', '3.5'],
      ['-0', '0'],
      ['007', '7'],
      ['1e3', '1000'],
      ['1.5E-2', '0.015'],
      [1e21, '1000000000000000000000'],
      [1e-7, '0.0000001'],
      [-0, '0'],
    ];
    for (const [input, expected] of cases)
      expect(parseDecimal(input), String(input)).toBe(expected);
  });

  it('rejects non-numbers, non-finite numbers and absurd exponents', () => {
    for (const input of [
      NaN,
      Infinity,
      -Infinity,
      '',
      ' 1',
      '1.',
      '.5',
      '+1',
      '0x10',
      'abc',
      '1e401',
      true,
      null,
      {},
      '9'.repeat(201),
    ]) {
      expect(parseDecimal(input), JSON.stringify(input)).toBeNull();
    }
  });
});

describe('decimal arithmetic', () => {
  it('adds exactly where binary floating point does not', () => {
    expect(addDecimal('0.1', '0.2')).toBe('0.3');
    expect(addDecimal('1.5', '-1.5')).toBe('0');
    expect(addDecimal('99999999999999999999', '1')).toBe('100000000000000000000');
    expect(addDecimal('-0.001', '0.0005')).toBe('-0.0005');
  });

  it('compares by value', () => {
    expect(compareDecimal('2.5', '10')).toBe(-1);
    expect(compareDecimal('-1', '-2')).toBe(1);
    expect(compareDecimal('0.10', '0.1')).toBe(0);
    expect(minDecimal('3', '-3')).toBe('-3');
    expect(maxDecimal('0.01', '0.001')).toBe('0.01');
  });
});

describe('parseStoredDecimal', () => {
  it('reads back a canonical value longer than any input may be, as a sum of huge inputs is', () => {
    // Given the canonical form of "1e400" (401 digits) plus 0.5: longer than decimalInputLengthMax
    const stored = addDecimal(parseDecimal('1e400') ?? '', '0.5');
    expect(stored.length).toBe(403);
    expect(parseDecimal(stored)).toBeNull();
    // Then the stored-value reader keeps it, and canonicalizes numeric::text output
    expect(parseStoredDecimal(stored)).toBe(stored);
    expect(parseStoredDecimal(`${stored}000`)).toBe(stored);
    expect(parseStoredDecimal('3.0')).toBe('3');
  });

  it('rejects text that is not a decimal', () => {
    for (const text of ['', 'NaN', '1 ', 'x']) expect(parseStoredDecimal(text), text).toBeNull();
  });
});
