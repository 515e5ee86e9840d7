// Goal: the one JSON leniency of typed writes (a comma before `}` or `]`, as the Eventd seed writes) and nothing else.
// Method: withoutTrailingCommas on texts with commas inside strings, nested values and malformed commas, then JSON.parse.
import { describe, expect, it } from 'vitest';
import { withoutTrailingCommas } from './json-body.js';

describe('withoutTrailingCommas', () => {
  it('drops the seed body’s comma before the closing brace', () => {
    const seed = `{
  "name":"test account",
  "billing_first_name": "Bob",
  "billing_last_name": "Test",
  "send_notification": true,
}`;
    expect(JSON.parse(withoutTrailingCommas(seed))).toEqual({
      name: 'test account',
      billing_first_name: 'Bob',
      billing_last_name: 'Test',
      send_notification: true,
    });
  });

  it('drops trailing commas in nested objects and arrays', () => {
    expect(JSON.parse(withoutTrailingCommas('{"a": [1, 2, ], "b": {"c": null,\n},}'))).toEqual({
      a: [1, 2],
      b: { c: null },
    });
  });

  it('leaves commas and brackets inside strings alone', () => {
    const text = '{"a": "x,}", "b": "y\\",]",}';
    expect(JSON.parse(withoutTrailingCommas(text))).toEqual({ a: 'x,}', b: 'y",]' });
  });

  it('returns a text without trailing commas unchanged', () => {
    const text = '{"a": [1, 2], "b": "c"}';
    expect(withoutTrailingCommas(text)).toBe(text);
  });

  it('keeps malformed commas for the JSON parser to refuse', () => {
    for (const text of ['{,}', '[,]', '[1,,]', '{"a": 1,,}', ',']) {
      expect(() => JSON.parse(withoutTrailingCommas(text)), text).toThrow(SyntaxError);
    }
  });
});
