import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { canTransition, JOB_STATES, TERMINAL_STATES } from "../../../src/node/store/jobState.js";
import { SqliteJobStore } from "../../../src/node/store/sqliteStore.js";
import { describeStore } from "./storeSuite.js";

describe("job state machine", () => {
  it("lets only the chain move a job out of a terminal state, and never out of cancelled", () => {
    for (const state of TERMINAL_STATES) {
      for (const to of JOB_STATES) {
        const allowed = canTransition(state, to);
        if (state === "cancelled") assert.equal(allowed, false, `cancelled → ${to}`);
        else if (state === "confirmed") assert.equal(allowed, to === "answered", `confirmed → ${to}`);
        else assert.equal(allowed, to === "confirmed" || to === "cancelled", `${state} → ${to}`);
      }
    }
  });

  it("walks the happy path and refuses skipping a step", () => {
    const path = ["received", "running", "answered", "proving", "submitted", "confirmed"] as const;
    for (let i = 0; i + 1 < path.length; i++)
      assert.ok(canTransition(path[i] as never, path[i + 1] as never));
    assert.equal(canTransition("received", "answered"), false);
    assert.equal(canTransition("answered", "submitted"), false);
    assert.equal(canTransition("running", "proving"), false);
  });
});

let dir: string | undefined;
let file = "";
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "sibyl-store-"));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});
let count = 0;

describeStore("SqliteJobStore", () => ({
  async open() {
    file = path.join(dir as string, `node-${++count}.db`);
    return new SqliteJobStore(file);
  },
  async reopen() {
    return new SqliteJobStore(file);
  },
}));
