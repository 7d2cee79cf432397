#!/usr/bin/env node
// The `sibyl` command: the CLI is TypeScript, run through tsx's loader so no build step is needed.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
