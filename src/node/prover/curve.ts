/**
 * snarkjs builds the BN254 curve once per thread, with helper threads of its own, and keeps it in a
 * global. Code that used snarkjs on the main thread calls this so the process can exit.
 */
export async function releaseSnarkjsCurve(): Promise<void> {
  const holder = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  await holder.curve_bn128?.terminate();
  holder.curve_bn128 = null;
}
