import { AevonError } from '../errors/aevon-error.js';
import type { ExpectedRevision, StreamId, StreamRevision } from '../event/event.js';
import { formatExpected } from '../event/event.js';

/**
 * Checks an expectation against a stream's last revision (null: no stream). Every engine calls this one function,
 * so the rules cannot drift between engines.
 * @returns the error to report, or null when the expectation holds.
 */
export function checkExpected(
  stream: StreamId,
  expected: ExpectedRevision,
  actual: StreamRevision | null,
): AevonError<'AEV_STREAM_VERSION_MISMATCH'> | null {
  const holds =
    expected === 'any' ||
    (expected === 'no_stream' && actual === null) ||
    (expected === 'stream_exists' && actual !== null) ||
    (typeof expected === 'bigint' && actual === expected);
  if (holds) return null;
  return new AevonError('AEV_STREAM_VERSION_MISMATCH', {
    stream,
    expected: formatExpected(expected),
    actual: actual === null ? null : actual.toString(),
  });
}
