/** Seeded randomness for tests, so a failure can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random field element below 2^248, like a real leaf. */
export function randomLeaf(random: () => number): bigint {
  let value = 0n;
  for (let i = 0; i < 8; i++) value = (value << 31n) | BigInt(Math.floor(random() * 2 ** 31));
  return value & ((1n << 248n) - 1n);
}

export function randomLeaves(random: () => number, count: number): bigint[] {
  return Array.from({ length: count }, () => randomLeaf(random));
}
