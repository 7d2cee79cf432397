/**
 * `sibyl node`'s key options laid over the config file's `operator` section: a flag replaces the one
 * setting it names and keeps the rest. Paths on the command line are the shell's, relative to where the
 * command runs (the file's are relative to the file).
 */
import path from "node:path";
import type { NodeConfig } from "../node/config.js";
import { UsageError } from "./errors.js";

export interface NodeKeyFlags {
  keystore?: string | undefined;
  "password-file"?: string | undefined;
  "allow-raw-key"?: boolean | undefined;
}

export function withKeyFlags(config: NodeConfig, flags: NodeKeyFlags, usage: string): NodeConfig {
  const passwordFile = flags["password-file"];
  let keystore = config.operator.keystore;
  if (flags.keystore !== undefined) keystore = { ...keystore, path: path.resolve(flags.keystore) };
  if (passwordFile !== undefined) {
    if (keystore === undefined) {
      throw new UsageError(
        "--password-file goes with --keystore <file> (or operator.keystore in the config)",
        usage,
      );
    }
    // One source of the password: the flag's file replaces the config's variable or file.
    keystore = { path: keystore.path, passwordFile: path.resolve(passwordFile) };
  }
  const allowRawKey = config.operator.allowRawKey || flags["allow-raw-key"] === true;
  return Object.freeze({ ...config, operator: { ...config.operator, keystore, allowRawKey } });
}
