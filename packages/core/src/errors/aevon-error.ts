import type { ErrorCode, ErrorDetailsByCode } from './error-codes.js';
import { errorCodes } from './error-codes.js';

/**
 * An operating error: expected, coded and typed (STYLE 2.6). Programmer errors are `AssertionError` instead.
 * The message is derived from the code and details, so two errors with the same code read alike.
 */
export class AevonError<Code extends ErrorCode = ErrorCode> extends Error {
  override readonly name = 'AevonError';
  readonly code: Code;
  readonly details: ErrorDetailsByCode[Code];

  constructor(code: Code, details: ErrorDetailsByCode[Code], options?: ErrorOptions) {
    super(messageFor(code, details), options);
    this.code = code;
    this.details = details;
  }

  /** The JSON form used on the wire and in logs. */
  toJSON(): { code: Code; message: string; details: ErrorDetailsByCode[Code] } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

const codeSet: ReadonlySet<string> = new Set(errorCodes);

/**
 * Shape check rather than `instanceof`, so that it survives two installed copies of this package.
 * With `code`, it also checks the error carries that code.
 */
export function isAevonError<C extends ErrorCode>(
  error: unknown,
  code?: C,
): error is AevonError<C> {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { name?: unknown; code?: unknown };
  if (candidate.name !== 'AevonError') return false;
  if (typeof candidate.code !== 'string' || !codeSet.has(candidate.code)) return false;
  return code === undefined || candidate.code === code;
}

/** Shorthand for an `AEV_REQUEST_INVALID` error about one input field. */
export function invalidRequest(reason: string, field?: string): AevonError<'AEV_REQUEST_INVALID'> {
  return new AevonError(
    'AEV_REQUEST_INVALID',
    field === undefined ? { reason } : { reason, field },
  );
}

function messageFor<Code extends ErrorCode>(code: Code, details: ErrorDetailsByCode[Code]): string {
  const d = details as Record<string, unknown>;
  const t = (key: string): string => show(d[key]);
  switch (code) {
    case 'AEV_REQUEST_INVALID':
      return d['field'] === undefined ? t('reason') : `${t('field')}: ${t('reason')}`;
    case 'AEV_DDL_INVALID':
      return d['line'] === undefined
        ? t('reason')
        : `line ${t('line')}, column ${t('column')}: ${t('reason')}`;
    case 'AEV_STREAM_NOT_FOUND':
      return `stream ${JSON.stringify(d['stream'])} does not exist`;
    case 'AEV_STREAM_VERSION_MISMATCH':
      return (
        `stream ${JSON.stringify(d['stream'])}: expected ${t('expected')}, ` +
        `actual ${d['actual'] === null ? 'no stream' : `revision ${t('actual')}`}`
      );
    case 'AEV_EVENT_ID_DUPLICATE':
      return (
        `event id ${JSON.stringify(d['id'])} is already stored in stream ${JSON.stringify(d['stream'])} ` +
        `at revision ${t('revision')}, position ${t('position')}`
      );
    case 'AEV_APPEND_BATCH_TOO_LARGE':
      return `an append holds ${t('count')} events; at most ${t('max')} are allowed`;
    case 'AEV_EVENT_DATA_TOO_LARGE':
      return `event ${JSON.stringify(d['id'])} is ${t('bytes')} bytes; at most ${t('max')} are allowed`;
    case 'AEV_READ_LIMIT_TOO_LARGE':
      return `limit ${t('limit')} is above the page maximum of ${t('max')}`;
    case 'AEV_SCHEMA_VALIDATION_FAILED':
      return (
        `data does not match schema ${t('type')} v${t('schemaVersion')}: ` +
        (d['errors'] as readonly string[]).join('; ')
      );
    case 'AEV_RULE_UNKNOWN':
      return `unknown rule ${JSON.stringify(d['rule'])}`;
    case 'AEV_CONFIG_INVALID':
      return d['source'] === undefined ? t('reason') : `${t('source')}: ${t('reason')}`;
    case 'AEV_OVERLOADED':
      return `overloaded: ${t('queued')} appends queued (max ${t('max')}); retry later`;
    case 'AEV_STORAGE_UNAVAILABLE':
      return `storage unavailable: ${t('reason')}`;
    case 'AEV_STORAGE_SCHEMA_MISMATCH':
      return `storage schema is version ${t('actual')}; this build needs ${t('expected')} (run aevon migrate)`;
    case 'AEV_NOT_FOUND':
      return `${t('resource')} not found`;
    case 'AEV_INTERNAL':
      return 'internal error';
    case 'AEV_UNAUTHENTICATED':
      return `authentication required: ${t('reason')}`;
    case 'AEV_FORBIDDEN':
      return `API key ${t('keyId')} lacks the scope ${t('scope')}`;
    case 'AEV_EVENT_DATA_INVALID':
      return `${t('eventType')} in stream ${t('stream')}: ${t('field')}: ${t('reason')}`;
    case 'AEV_AGGREGATE_CONFLICT':
      return `${t('aggregate')}.${t('column')} (${t('constraint')}): ${t('reason')}`;
    case 'AEV_DEFINITIONS_CHANGED':
      return `definitions changed: expected version ${t('expected')}, now ${t('actual')}; reload and retry`;
    case 'AEV_MIGRATION_INVALID':
      return d['file'] === undefined ? t('reason') : `${t('file')}: ${t('reason')}`;
    case 'AEV_SQL_INVALID':
      return `invalid SQL query: ${t('reason')}`;
    case 'AEV_SQL_TIMEOUT':
      return `the SQL query ran longer than ${t('timeoutMs')} ms and was stopped`;
  }
  return code;
}

/** Renders a detail value for a message: strings as they are, anything else as JSON. */
function show(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
}
