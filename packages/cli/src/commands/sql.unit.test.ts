// Goal: what `aevon sql` prints: --param values read as JSON or text, and the psql-style table (NULL as an empty cell,
// JSON values as JSON, one line per row, the row count, truncation). Method: the pure functions on hand-made results.
import { describe, expect, it } from 'vitest';
import { formatTable, parseParam } from './sql.js';

describe('parseParam', () => {
  it.each([
    ['1', 1],
    ['-2.5', -2.5],
    ['true', true],
    ['null', null],
    ['"1"', '1'],
    ['[1,"a"]', [1, 'a']],
    ['{"a":1}', { a: 1 }],
    ['Bob', 'Bob'],
    ['2026-03-01', '2026-03-01'],
    ['', ''],
  ])('reads %j as %j', (text, value) => {
    expect(parseParam(text)).toEqual(value);
  });
});

describe('formatTable', () => {
  it('pads columns to their widest cell and counts the rows', () => {
    const lines = formatTable({
      columns: [
        { name: 'id', type: 'integer' },
        { name: 'name', type: 'text' },
        { name: 'tags', type: 'jsonb' },
      ],
      rows: [
        { id: 1, name: 'a long name', tags: ['x'] },
        { id: 22, name: null, tags: { k: 'v' } },
      ],
      truncated: false,
    });
    expect(lines).toEqual([
      ' id | name        | tags',
      '----+-------------+-----------',
      ' 1  | a long name | ["x"]',
      ' 22 |             | {"k":"v"}',
      '(2 rows)',
    ]);
  });

  it('keeps each row on one line and says when rows were cut', () => {
    const lines = formatTable({
      columns: [{ name: 'note', type: null }],
      rows: [{ note: 'two\nlines' }],
      truncated: true,
    });
    expect(lines).toEqual([' note', '------------', ' two\\nlines', '(1 row, truncated)']);
  });

  it('prints a header and a zero count for no rows', () => {
    expect(
      formatTable({ columns: [{ name: 'n', type: null }], rows: [], truncated: false }),
    ).toEqual([' n', '---', '(0 rows)']);
  });
});
