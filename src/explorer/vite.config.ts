/** Builds the explorer page into dist-explorer/ at the repository root (npm run build:explorer). */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = path.join(path.dirname(fileURLToPath(import.meta.url)), "page");

export default defineConfig({
  root: here,
  // Served from whatever path the sibyl server or a static host puts it under.
  base: "./",
  build: {
    outDir: path.resolve(here, "../../../dist-explorer"),
    emptyOutDir: true,
    target: "es2022",
    // One chunk holds viem and the SDK (Poseidon constants included); the page is useless without them.
    chunkSizeWarningLimit: 1_500,
  },
  logLevel: "warn",
});
