#!/usr/bin/env node
// The `sibyl` command. An installed package runs its compiled JavaScript; a clone of the repository
// (which has the TypeScript sources and no build) runs the sources through tsx's loader.
import { existsSync } from "node:fs";

const sources = new URL("../src/cli/main.ts", import.meta.url);
if (existsSync(sources)) {
  const { register } = await import("tsx/esm/api");
  register();
  await import(sources.href);
} else {
  await import("../dist/src/cli/main.js");
}
