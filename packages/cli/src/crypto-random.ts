import { getRandomValues } from 'node:crypto';
import type { Random } from '@aevon/core';

/** Words drawn from the OS per refill: one system call serves this many ids' worth of randomness. */
const bufferWordsMax = 256;

/**
 * A {@link Random} on the operating system's CSPRNG (`crypto.getRandomValues`), for production. Words are fetched
 * {@link bufferWordsMax} at a time. The CLI is the only package that touches `crypto` (STYLE 2.8).
 */
export function createCryptoRandom(): Random {
  const buffer = new Uint32Array(bufferWordsMax);
  let next = bufferWordsMax;
  return {
    nextUint32: () => {
      if (next === bufferWordsMax) {
        getRandomValues(buffer);
        next = 0;
      }
      const word = buffer[next] ?? 0;
      next += 1;
      return word;
    },
  };
}
