/** Randomness, injected (STYLE 2.8): ids are drawn from it so that a seeded run is reproducible. */
export interface Random {
  /** A uniformly random 32-bit unsigned integer. */
  nextUint32(): number;
}

/** A seeded PRNG (mulberry32): deterministic, for tests and simulation only. */
export function createSeededRandom(seed: number): Random {
  let state = seed >>> 0;
  return {
    nextUint32: () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return (t ^ (t >>> 14)) >>> 0;
    },
  };
}

/** A version 4 UUID drawn from `random`. */
export function randomUuid(random: Random): string {
  const words = [
    random.nextUint32(),
    random.nextUint32(),
    random.nextUint32(),
    random.nextUint32(),
  ];
  const hex = words.map((w) => w.toString(16).padStart(8, '0')).join('');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
