import type { GlobalPosition } from '@aevon/core';
import { asGlobalPosition, assert, invalidRequest } from '@aevon/core';

/** A PostgreSQL log position: the writing transaction's id (`xid8`) and the row's sequence number. */
export interface PostgresPosition {
  /** Decimal `xid8`. */
  readonly txId: bigint;
  readonly seq: bigint;
}

const digits = 20; // 2^64 - 1 has 20 decimal digits, so every xid8 and bigint fits.
const pattern = /^(\d{20})-(\d{20})$/;

/**
 * Formats `(tx_id, seq)` as a fixed-width string (`<20 digits>-<20 digits>`), so that string order equals the log's
 * order: by transaction id, then by sequence within it.
 */
export function formatPostgresPosition(
  txId: bigint | string,
  seq: bigint | string,
): GlobalPosition {
  return asGlobalPosition(`${fixedWidth(txId)}-${fixedWidth(seq)}`);
}

// Reads return decimal text already, so the hot path pads it after a format check instead of parsing a BigInt.
function fixedWidth(value: bigint | string): string {
  const text = typeof value === 'bigint' ? value.toString() : value;
  assert(
    /^\d{1,20}$/.test(text),
    'a transaction id or sequence number is a non-negative 64-bit decimal',
  );
  return text.padStart(digits, '0');
}

/**
 * Parses a position this engine formatted.
 * @throws AEV_REQUEST_INVALID for any other string (a position from another engine, or a hand-made one).
 */
export function parsePostgresPosition(position: string, field: string): PostgresPosition {
  const match = pattern.exec(position);
  const [, tx, seq] = match ?? [];
  if (tx === undefined || seq === undefined) {
    throw invalidRequest('is not a PostgreSQL log position', field);
  }
  return { txId: BigInt(tx), seq: BigInt(seq) };
}
