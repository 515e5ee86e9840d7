// Goal: docs/errors.md lists exactly core's error codes, each with the HTTP status of httpStatusByCode. Method: parse
// the table rows and compare both directions. Reading one repository file is the point of this drift test.
import { readFileSync } from 'node:fs';
import { errorCodes } from '@aevon/core';
import { describe, expect, it } from 'vitest';
import { httpStatusByCode } from './status-by-code.js';

const docPath = new URL('../../../../docs/errors.md', import.meta.url);

function documentedRows(): Map<
  string,
  { readonly http: string; readonly cells: readonly string[] }
> {
  const rows = new Map<string, { http: string; cells: readonly string[] }>();
  for (const line of readFileSync(docPath, 'utf8').split('\n')) {
    const match = /^\|\s*`(AEV_[A-Z_]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (match === null) continue;
    const cells = (match[2] ?? '').split('|').map((cell) => cell.trim());
    rows.set(match[1] ?? '', { http: cells[0] ?? '', cells });
  }
  return rows;
}

describe('docs/errors.md', () => {
  it('has a header with the columns Code | HTTP | Meaning | How to fix | Since', () => {
    expect(readFileSync(docPath, 'utf8')).toContain(
      '| Code | HTTP | Meaning | How to fix | Since |',
    );
  });

  it('documents every error code with its HTTP status', () => {
    const rows = documentedRows();
    for (const code of errorCodes) {
      expect(rows.get(code)?.http, code).toBe(String(httpStatusByCode[code]));
    }
  });

  it('documents no code that core does not define', () => {
    const known: ReadonlySet<string> = new Set(errorCodes);
    expect([...documentedRows().keys()].filter((code) => !known.has(code))).toEqual([]);
    expect(documentedRows().size).toBe(errorCodes.length);
  });

  it('fills Meaning, How to fix and Since (0.1.0) for every code', () => {
    for (const [code, row] of documentedRows()) {
      expect(row.cells, code).toHaveLength(4);
      expect(row.cells[1], code).not.toBe('');
      expect(row.cells[2], code).not.toBe('');
      expect(row.cells[3], code).toBe('0.1.0');
    }
  });

  it('maps exactly the codes core defines in httpStatusByCode', () => {
    expect(Object.keys(httpStatusByCode).sort()).toEqual([...errorCodes].sort());
  });
});
