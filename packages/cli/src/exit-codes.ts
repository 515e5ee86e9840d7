import type { ErrorCode } from '@aevon/core';
import { isAevonError } from '@aevon/core';

/** The exit codes of the `aevon` command (docs/reference/cli.md). */
export const exitCodes = {
  /** Success, including a graceful shutdown of `aevon serve` after SIGTERM or SIGINT. */
  ok: 0,
  /** A runtime error: anything not listed below (`AEV_INTERNAL`, an unexpected failure, a programmer error). */
  runtime: 1,
  /**
   * A usage or configuration error: unknown command or flag, `AEV_CONFIG_INVALID`, `AEV_RULE_UNKNOWN` (a `--rule`
   * not in the configuration), or a port that cannot be bound.
   */
  usage: 2,
  /** The database cannot be reached or used: `AEV_STORAGE_UNAVAILABLE`. */
  storageUnavailable: 3,
  /** The database schema does not match this build: `AEV_STORAGE_SCHEMA_MISMATCH` (run `aevon migrate`). */
  storageSchemaMismatch: 4,
  /** `aevon verify` found pre-aggregates that differ from a recomputation from the log. */
  verifyFailed: 5,
  /** `aevon sql` refused or stopped the query: `AEV_SQL_INVALID`, `AEV_SQL_TIMEOUT`. */
  sqlFailed: 6,
  /**
   * A definitions migration cannot be applied: `AEV_MIGRATION_INVALID` (a bad file name, a gap, an edited applied
   * file, a bad upcaster module, DDL that does not check) or `AEV_DDL_INVALID`.
   */
  migrationInvalid: 7,
} as const;

/** The exit code after a second signal forced the process down: 128 + the signal number, as shells report it. */
export const forcedExitCodeBySignal = { SIGINT: 130, SIGTERM: 143 } as const;

const exitCodeByErrorCode: Partial<Record<ErrorCode, number>> = {
  AEV_CONFIG_INVALID: exitCodes.usage,
  AEV_RULE_UNKNOWN: exitCodes.usage,
  AEV_STORAGE_UNAVAILABLE: exitCodes.storageUnavailable,
  AEV_STORAGE_SCHEMA_MISMATCH: exitCodes.storageSchemaMismatch,
  AEV_SQL_INVALID: exitCodes.sqlFailed,
  AEV_SQL_TIMEOUT: exitCodes.sqlFailed,
  AEV_MIGRATION_INVALID: exitCodes.migrationInvalid,
  AEV_DDL_INVALID: exitCodes.migrationInvalid,
};

/** The exit code for an error that ends a command. */
export function exitCodeForError(error: unknown): number {
  if (!isAevonError(error)) return exitCodes.runtime;
  return exitCodeByErrorCode[error.code] ?? exitCodes.runtime;
}

/** The one stderr line for an error that ends a command: `aevon: AEV_CODE: message`. */
export function formatErrorLine(error: unknown): string {
  if (isAevonError(error)) return `aevon: ${error.code}: ${oneLine(error.message)}`;
  const message = error instanceof Error ? error.message : String(error);
  return `aevon: unexpected error: ${oneLine(message)}`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
