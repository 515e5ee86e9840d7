import { AevonError, AssertionError } from '@aevon/core';

/**
 * Maps a driver or server failure to `AEV_STORAGE_UNAVAILABLE`, chaining the original error as `cause`. Aevon's own
 * errors pass through. The reason names the operation and the SQLSTATE only: server messages may quote data, and
 * they are not forwarded to clients (STYLE 2.12).
 */
export function toStorageError(operation: string, error: unknown): Error {
  if (error instanceof AevonError || error instanceof AssertionError) return error;
  const code = sqlState(error);
  const reason = `${operation} failed (${code ?? (error instanceof Error ? error.message : 'unknown error')})`;
  return new AevonError('AEV_STORAGE_UNAVAILABLE', { reason }, { cause: error });
}

/** The SQLSTATE of a server error, or undefined for a connection or client-side failure. */
export function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** The constraint a server error names, if any. */
export function constraintOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const constraint = (error as { constraint?: unknown }).constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}
