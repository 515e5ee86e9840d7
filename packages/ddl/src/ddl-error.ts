import { AevonError, isAevonError } from '@aevon/core';
import type { SourcePosition } from './model.js';

/** An `AEV_DDL_INVALID` error; with a position, its message reads `line L, column C: reason`. */
export function ddlError(reason: string, at?: SourcePosition): AevonError<'AEV_DDL_INVALID'> {
  return new AevonError(
    'AEV_DDL_INVALID',
    at === undefined ? { reason } : { reason, line: at.line, column: at.column },
  );
}

/**
 * Renders a DDL error for a terminal: the message, then the offending line of `text` with a caret under the column.
 * Errors without a position (or not DDL errors) render as their message alone.
 */
export function formatDdlError(error: unknown, text: string): string {
  if (!isAevonError(error, 'AEV_DDL_INVALID')) {
    return error instanceof Error ? error.message : String(error);
  }
  const { line, column } = error.details;
  if (line === undefined || column === undefined) return error.message;
  const source = text.split('\n')[line - 1]?.replace(/\r$/, '') ?? '';
  const gutter = `${line} | `;
  // Tabs keep their width in the caret line, so the caret lands under the column on any terminal.
  const pad = source
    .slice(0, column - 1)
    .replace(/[^\t]/g, ' ')
    .padEnd(column - 1, ' ');
  return `${error.message}\n${gutter}${source}\n${' '.repeat(gutter.length)}${pad}^`;
}
