import assert from "node:assert/strict";
import { describe, it } from "mocha";
import type { Hex } from "viem";
import { RequestExpiredError, ResultTimeoutError } from "../../src/sdk/errors.js";
import type { AppendedBatch, SibylResult } from "../../src/sdk/types.js";
import { type PollForResultOptions, pollForResult, type ResultReader } from "../../src/sdk/waiting.js";
import { ResultStatus } from "../../src/shared/encoding.js";

/** A scripted chain: each poll moves to the next state. */
interface ChainState {
  head: bigint;
  timestamp?: bigint;
  result?: SibylResult;
  /** The canonical hash at each height the loop asks about. */
  hashes?: Record<string, Hex>;
}

function scripted(states: ChainState[]) {
  let step = -1;
  const current = () => states[Math.min(step, states.length - 1)] as ChainState;
  const reader: ResultReader = {
    async latestBlock() {
      step++;
      return { number: current().head, timestamp: current().timestamp ?? 0n };
    },
    findRequest: async () => ({ blockNumber: 1n, deadline: 1_000n }),
    findResult: async (_from, to) => {
      const { result } = current();
      return result && result.blockNumber <= to ? result : undefined;
    },
    blockHash: async (blockNumber) => current().hashes?.[String(blockNumber)],
  };
  return { reader, polls: () => step + 1 };
}

function resultAt(
  blockNumber: bigint,
  blockHash: Hex,
  output: Hex = "0x01",
  batch?: AppendedBatch,
): SibylResult {
  return {
    requestId: 1n,
    modelId: `0x${"00".repeat(32)}`,
    operator: `0x${"00".repeat(20)}`,
    sequence: 0n,
    leafIndex: batch && 0n,
    batch,
    status: ResultStatus.Ok,
    callback: 0,
    fee: 0n,
    inputHash: `0x${"00".repeat(32)}`,
    output,
    outputText: undefined,
    metadata: "0x",
    blockNumber,
    blockHash,
    transactionHash: `0x${"11".repeat(32)}`,
  };
}

const options: PollForResultOptions = {
  requestId: 1n,
  confirmations: 1,
  timeoutMs: 2_000,
  pollingIntervalMs: 1,
  fromBlock: 0n,
};
const A = `0x${"aa".repeat(32)}` as Hex;
const B = `0x${"bb".repeat(32)}` as Hex;

describe("sdk wait loop (pure)", () => {
  it("returns a mined result once its block has the asked confirmations", async () => {
    const { reader, polls } = scripted([
      { head: 5n },
      { head: 6n, result: resultAt(6n, A), hashes: { "6": A } },
      { head: 7n, result: resultAt(6n, A), hashes: { "6": A } },
      { head: 8n, result: resultAt(6n, A), hashes: { "6": A } },
    ]);
    assert.equal((await pollForResult(reader, { ...options, confirmations: 3 })).blockNumber, 6n);
    assert.equal(polls(), 4);
  });

  it("never returns a result whose block a reorg replaced, and returns the one on the new chain", async () => {
    const { reader } = scripted([
      // The log query still sees the old block's result while the chain already has block B at 6.
      { head: 6n, result: resultAt(6n, A, "0x0a"), hashes: { "6": B } },
      { head: 7n },
      { head: 8n, result: resultAt(8n, B, "0x0b"), hashes: { "8": B } },
    ]);
    const result = await pollForResult(reader, options);
    assert.equal(result.output, "0x0b");
  });

  it("with proven, waits past a pending delivery and its deadline until the proof is deep and canonical", async () => {
    const batchAt = (blockNumber: bigint, blockHash: Hex): AppendedBatch => ({
      prover: `0x${"00".repeat(20)}`,
      oldRoot: 0n,
      newRoot: 1n,
      startIndex: 0n,
      batchSize: 1n,
      count: 1n,
      firstSequence: 0n,
      blockNumber,
      blockHash,
      transactionHash: `0x${"22".repeat(32)}`,
    });
    const { reader, polls } = scripted([
      // Delivered without a proof, then past the deadline: a delivered result never expires.
      { head: 6n, timestamp: 999n, result: resultAt(6n, A), hashes: { "6": A } },
      { head: 7n, timestamp: 2_000n, result: resultAt(6n, A), hashes: { "6": A } },
      // A proof at 8 that a reorg replaces, then one at 9 that stays.
      { head: 8n, result: resultAt(6n, A, "0x01", batchAt(8n, A)), hashes: { "6": A, "8": B } },
      { head: 9n, result: resultAt(6n, A, "0x01", batchAt(9n, B)), hashes: { "6": A, "9": B } },
      { head: 10n, result: resultAt(6n, A, "0x01", batchAt(9n, B)), hashes: { "6": A, "9": B } },
    ]);
    const result = await pollForResult(reader, {
      ...options,
      confirmations: 2,
      timeoutMs: undefined,
      proven: true,
    });
    assert.equal(result.batch?.blockNumber, 9n);
    assert.equal(result.leafIndex, 0n);
    assert.equal(polls(), 5);
    const unproven = scripted([{ head: 6n, result: resultAt(6n, A), hashes: { "6": A } }]);
    assert.equal((await pollForResult(unproven.reader, options)).leafIndex, undefined, "delivered is enough");
  });

  it("gives up after timeoutMs with a retryable ResultTimeoutError", async () => {
    const { reader } = scripted([{ head: 1n, timestamp: 10n }]);
    await assert.rejects(
      pollForResult(reader, { ...options, timeoutMs: 50, pollingIntervalMs: 10 }),
      (error) => error instanceof ResultTimeoutError && error.retryable && error.timeoutMs === 50,
    );
  });

  it("ends with RequestExpiredError once the chain is past the deadline without a result", async () => {
    const { reader } = scripted([
      { head: 1n, timestamp: 999n },
      { head: 2n, timestamp: 1_001n },
    ]);
    await assert.rejects(
      pollForResult(reader, { ...options, timeoutMs: undefined }),
      (error) => error instanceof RequestExpiredError && error.deadline === 1_000n,
    );
  });

  it("refuses a negative confirmation count", async () => {
    const { reader } = scripted([{ head: 1n }]);
    await assert.rejects(pollForResult(reader, { ...options, confirmations: -1 }), RangeError);
  });
});
