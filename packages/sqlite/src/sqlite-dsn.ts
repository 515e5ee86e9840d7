import { AevonError } from '@aevon/core';

const scheme = 'sqlite:';

/**
 * Parses a SQLite DSN into the path {@link createSqliteStorage} opens:
 * `sqlite:./data/aevon.db` → `./data/aevon.db` (relative to the working directory), `sqlite::memory:` →
 * `:memory:`, and `sqlite:///abs/path` → `/abs/path`. The path is taken literally (no percent-decoding).
 * @throws AEV_CONFIG_INVALID for another scheme, an empty path, or `sqlite://host...` (a host is meaningless here,
 *   and reading it as a relative path would silently pick another file).
 */
export function parseSqliteDsn(dsn: string): string {
  const invalid = (reason: string): AevonError<'AEV_CONFIG_INVALID'> =>
    new AevonError('AEV_CONFIG_INVALID', {
      reason: `database DSN ${JSON.stringify(dsn)}: ${reason}`,
    });
  if (!dsn.startsWith(scheme)) throw invalid('a SQLite DSN starts with "sqlite:"');
  const rest = dsn.slice(scheme.length);
  if (rest.startsWith('///')) {
    const path = rest.slice(2);
    if (path === '/') throw invalid('the path is empty');
    return path;
  }
  if (rest.startsWith('//')) throw invalid('write "sqlite:///abs/path" or "sqlite:relative/path"');
  if (rest === '') throw invalid('the path is empty');
  return rest;
}
