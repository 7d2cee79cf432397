/**
 * A real headless Chromium for page tests, driven by playwright-core: the system's browser (Debian's
 * `chromium`; .ci/run installs it), a fresh profile per launch, nothing downloaded.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/** The browser to drive: SIBYL_CHROMIUM, else the first system Chromium found, else undefined. */
export function findChromium(): string | undefined {
  const chosen = process.env.SIBYL_CHROMIUM;
  if (chosen) return chosen;
  return CANDIDATES.find((candidate) => existsSync(candidate));
}

export async function launchBrowser(
  executablePath: string,
): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = await mkdtemp(path.join(os.tmpdir(), "sibyl-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
