import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { ABI_MODULE, renderAbiModule } from "../../scripts/generate-abis.js";

describe("generated ABIs", () => {
  it("match the current build artifacts (run `npm run abis:generate` after changing a contract)", async () => {
    assert.equal(await readFile(ABI_MODULE, "utf8"), await renderAbiModule());
  });
});
