/** The explorer page under test, built once per run from this checkout's sources (never a stale build). */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { REPO_ROOT } from "./processes.js";

let built = false;

export function buildExplorerPage(): void {
  if (built) return;
  execFileSync(
    process.execPath,
    [
      path.join(REPO_ROOT, "node_modules/vite/bin/vite.js"),
      "build",
      "--config",
      "src/explorer/vite.config.ts",
    ],
    { cwd: REPO_ROOT, stdio: "ignore" },
  );
  built = true;
}
