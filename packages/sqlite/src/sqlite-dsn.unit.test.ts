import { describe, expect, it } from 'vitest';
import { isAevonError } from '@aevon/core';
import { parseSqliteDsn } from '@aevon/sqlite';

describe('parseSqliteDsn', () => {
  it('reads a relative path, memory and an absolute path', () => {
    expect(parseSqliteDsn('sqlite:./data/aevon.db')).toBe('./data/aevon.db');
    expect(parseSqliteDsn('sqlite:data/aevon.db')).toBe('data/aevon.db');
    expect(parseSqliteDsn('sqlite::memory:')).toBe(':memory:');
    expect(parseSqliteDsn('sqlite:///abs/path.db')).toBe('/abs/path.db');
  });

  it.each(['postgres://localhost/db', 'sqlite:', 'sqlite:///', 'sqlite://host/db.db'])(
    'rejects %s with AEV_CONFIG_INVALID',
    (dsn) => {
      expect.assertions(1);
      try {
        parseSqliteDsn(dsn);
      } catch (error) {
        expect(isAevonError(error, 'AEV_CONFIG_INVALID')).toBe(true);
      }
    },
  );
});
