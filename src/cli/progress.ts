/** Progress lines for long CLI steps: what is happening, then how it ended and how long it took. */
export async function step<T>(label: string, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const tty = process.stdout.isTTY;
  process.stdout.write(tty ? `  … ${label}` : `  ${label} …\n`);
  try {
    const result = await run();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    process.stdout.write(tty ? `\r  ✓ ${label} (${seconds} s)\n` : `  ✓ ${label} (${seconds} s)\n`);
    return result;
  } catch (error) {
    process.stdout.write(tty ? `\r  ✗ ${label}\n` : `  ✗ ${label}\n`);
    throw error;
  }
}
