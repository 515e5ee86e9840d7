import { invalidRequest } from '@aevon/core';

const unitMs: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const pattern = /^(\d{1,12})(ms|s|m|h|d)$/;

/**
 * Parses a duration such as `500ms`, `30s`, `2m`, `1h` or `1d` (one integer and one unit, no spaces) to
 * milliseconds.
 * @throws AEV_REQUEST_INVALID naming `duration` for any other text or a result above 2^53 ms.
 */
export function parseDuration(text: string): number {
  const match = pattern.exec(text.trim());
  const [, amount, unit] = match ?? [];
  const factor = unit === undefined ? undefined : unitMs[unit];
  if (amount === undefined || factor === undefined) {
    throw invalidRequest(
      `${JSON.stringify(text)} is not a duration such as "500ms", "30s", "2m" or "1h"`,
      'duration',
    );
  }
  const ms = Number(amount) * factor;
  if (!Number.isSafeInteger(ms))
    throw invalidRequest(`${JSON.stringify(text)} is too long`, 'duration');
  return ms;
}
