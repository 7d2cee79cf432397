/** The chain's time as the node's loops reckon it, from the blocks the listener reads. */
export class ChainClock {
  #chainTime = 0n;
  /** Wall-clock ms when #chainTime was first seen. */
  #seenAt = 0;

  /** The latest block time read, or 0n before the first. */
  get latest(): bigint {
    return this.#chainTime;
  }

  /** Records a block time the listener read; the same time again says no time passed on the chain. */
  observe(timestamp: bigint): void {
    if (timestamp === this.#chainTime) return;
    this.#chainTime = timestamp;
    this.#seenAt = Date.now();
  }

  /**
   * The time a transaction sent now would be mined at: the latest block's time plus what has passed
   * since it was seen. A quiet chain (a devnet on automine) makes no blocks, so its latest time stands
   * still while an exclusive window runs out, though the next block will be stamped later; and a devnet's
   * clock may run ahead of the wall's (fast-mined blocks, evm_increaseTime), so the wall's alone is wrong.
   */
  nextBlockTime(): bigint {
    if (this.#chainTime === 0n) return 0n;
    return this.#chainTime + BigInt(Math.floor((Date.now() - this.#seenAt) / 1000));
  }
}
