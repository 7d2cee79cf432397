/**
 * The root of the installed Sibyl package (or of this repository), found from this module's own location.
 * The same code runs as TypeScript from `src/` and as JavaScript from `dist/src/`, at different depths,
 * so files shipped beside the code (circuit keys, contract artifacts) are found from the root instead.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_NAME = "sibyl";

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).name === PACKAGE_NAME) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no ${PACKAGE_NAME} package.json above ${start}`);
  }
}

export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

/** True in a clone of the repository (sources, Hardhat config), false in an installed package. */
export const FROM_SOURCE_CHECKOUT = existsSync(path.join(PACKAGE_ROOT, "hardhat.config.ts"));
