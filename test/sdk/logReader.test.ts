import assert from "node:assert/strict";
import { describe, it } from "mocha";
import { encodeAbiParameters, type Hex, keccak256, numberToHex, stringToHex, toHex } from "viem";
import { checkResult } from "../../src/sdk/checkResult.js";
import { IncompleteLogError } from "../../src/sdk/errors.js";
import {
  checkInclusion,
  claimedLeaf,
  deliveredLeaf,
  findResultEntry,
  type ResultLogEntry,
  rebuildLeaves,
} from "../../src/sdk/logReader.js";
import { checkPending, extendChain, type PendingLog } from "../../src/sdk/pendingQueue.js";
import type { ResultDeliveredArgs } from "../../src/sdk/types.js";
import { decodeUtf8, resolveModelId, toBytesHex } from "../../src/sdk/utils.js";
import {
  EMPTY_LEAF,
  modelIdFromName,
  ResultStatus,
  resultLeaf,
  TREE_DEPTH,
} from "../../src/shared/encoding.js";
import { buildInclusionProof, IncrementalMerkleTree } from "../../src/shared/merkle.js";

const MODEL = modelIdFromName("language-id");
const OPERATOR = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

function delivered(requestId: bigint, sequence: bigint, output: string): ResultDeliveredArgs {
  return {
    requestId,
    modelId: MODEL,
    operator: OPERATOR,
    sequence,
    status: ResultStatus.Ok,
    callback: 0,
    fee: 1n,
    inputHash: keccak256(toHex(`input ${requestId}`)),
    output: toHex(output),
    metadata: toHex('{"provider":"builtin"}'),
  };
}

function leafOfArgs(args: ResultDeliveredArgs): bigint {
  return resultLeaf(
    args,
    { status: ResultStatus.Ok, output: args.output, metadata: args.metadata },
    OPERATOR,
  );
}

/**
 * The events the coordinator would emit for `batches` (each a batch size and its results), appended in
 * order to a fresh log: BatchAppended first, then its ResultDelivered events, as in one transaction.
 * Request ids start at 1, sequences at 0, so request r has sequence r - 1.
 */
function emitLog(batches: Array<{ size: number; outputs: string[] }>) {
  const tree = new IncrementalMerkleTree();
  const entries: ResultLogEntry[] = [];
  let requestId = 1n;
  for (const { size, outputs } of batches) {
    const start =
      tree.nextIndex === 0n ? 0n : ((tree.nextIndex + BigInt(size) - 1n) / BigInt(size)) * BigInt(size);
    const firstSequence = requestId - 1n;
    const results = outputs.map((output) => delivered(requestId, requestId++ - 1n, output));
    const leaves = [...results.map(leafOfArgs), ...Array(size - outputs.length).fill(EMPTY_LEAF)];
    const witness = tree.appendSubtree(leaves);
    assert.equal(witness.startIndex, start);
    entries.push({
      eventName: "BatchAppended",
      args: {
        prover: OPERATOR,
        oldRoot: witness.oldRoot,
        newRoot: witness.newRoot,
        startIndex: start,
        batchSize: BigInt(size),
        count: BigInt(outputs.length),
        firstSequence,
      },
    });
    for (const args of results) entries.push({ eventName: "ResultDelivered", args });
  }
  return { entries, root: tree.root };
}

describe("sdk log reader (pure)", () => {
  // Slots: 0 (batch of 1), 1..3 skipped to align, 4..7 (batch of 4 with 3 results), 8 (batch of 1).
  const { entries, root } = emitLog([
    { size: 1, outputs: ["en 0.9871"] },
    { size: 4, outputs: ["fr 0.9962", "de 0.9500", "en 0.9000"] },
    { size: 1, outputs: ["es 0.9100"] },
  ]);

  it("rebuilds every slot, with empty leaves for alignment gaps and unused batch slots", () => {
    const leaves = rebuildLeaves(entries);
    assert.equal(leaves.length, 9);
    assert.deepEqual(
      leaves.map((leaf) => leaf === EMPTY_LEAF),
      [false, true, true, true, false, false, false, true, false],
    );
    assert.equal(buildInclusionProof(leaves, 0, TREE_DEPTH).root, root);
  });

  it("does not depend on the order batches were read in", () => {
    assert.deepEqual(rebuildLeaves([...entries].reverse()), rebuildLeaves(entries));
  });

  // Every result is proven: the queue of pending leaves is empty, its chain restarted at sequence 5.
  const allProven: PendingLog = {
    proven: 5n,
    delivered: 5n,
    head: numberToHex(5n, { size: 32 }),
    tail: numberToHex(5n, { size: 32 }),
  };
  const judge = (requestId: bigint, overrides: Partial<Parameters<typeof checkResult>[0]> = {}) =>
    checkResult({
      result: findResultEntry(entries, requestId) as ResultDeliveredArgs,
      entries,
      root,
      queue: allProven,
      blockNumber: 7n,
      ...overrides,
    });

  it("places each result by its sequence and accepts it as proven, and nothing else", () => {
    const expectedSlots = new Map([
      [1n, 0n],
      [2n, 4n],
      [3n, 5n],
      [4n, 6n],
      [5n, 8n],
    ]);
    for (const [requestId, slot] of expectedSlots) {
      const verdict = judge(requestId);
      assert.equal(verdict.valid, true, verdict.reason);
      assert.equal(verdict.reason, undefined);
      assert.equal(verdict.state, "proven");
      assert.match(verdict.meaning, /^proven: .*Groth16/);
      assert.equal(verdict.leafIndex, slot);
      assert.equal(verdict.sequence, requestId - 1n);
      assert.equal(verdict.siblings.length, TREE_DEPTH);
      assert.equal(verdict.blockNumber, 7n);
    }
    const cases = [
      { claim: { output: "en 0.9962" } },
      { claim: { status: ResultStatus.ModelError } },
      { claim: { metadata: "{}" } },
      { claim: { operator: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" as const } },
      { leafIndex: 5n },
      { leafIndex: 7n },
      { leafIndex: 9n },
      { siblings: judge(2n).siblings.slice(1) },
    ];
    for (const overrides of cases) {
      const verdict = judge(2n, overrides);
      assert.equal(
        verdict.valid,
        false,
        JSON.stringify(overrides, (_k, v) => (typeof v === "bigint" ? `${v}` : v)),
      );
      assert.equal(verdict.state, "proven");
      assert.ok(verdict.reason && verdict.reason.length > 0);
    }
  });

  it("checks a path someone handed over without the log, and rejects it with one sibling changed", () => {
    const { siblings } = judge(3n);
    const onlyBatches = entries.filter(
      (entry) => entry.eventName === "BatchAppended" || entry.args.requestId === 3n,
    );
    assert.equal(judge(3n, { siblings, entries: onlyBatches }).valid, true);
    const forged = siblings.map((sibling, level) => (level === 2 ? sibling + 1n : sibling));
    const verdict = judge(3n, { siblings: forged, entries: onlyBatches });
    assert.equal(verdict.valid, false);
    assert.match(verdict.reason ?? "", /does not lead to the onchain root/);
  });

  it("says so when the events read do not rebuild the onchain root", () => {
    const verdict = judge(1n, { root: root + 1n });
    assert.equal(verdict.valid, false);
    assert.match(verdict.reason ?? "", /rebuild root/);
    const leaves = rebuildLeaves(entries);
    const leaf = deliveredLeaf(findResultEntry(entries, 1n) as ResultDeliveredArgs);
    assert.equal(checkInclusion({ leaf, leafIndex: 0n, leaves, root, blockNumber: 1n }).reason, undefined);
  });

  it("refuses a log read that starts late or misses a batch or a result", () => {
    assert.deepEqual(rebuildLeaves([]), []);
    const withoutFirstBatch = entries.slice(2);
    assert.throws(() => rebuildLeaves(withoutFirstBatch), IncompleteLogError);
    const withoutMiddleBatch = entries.filter(
      (entry) => !(entry.eventName === "BatchAppended" && entry.args.startIndex === 4n),
    );
    assert.throws(() => rebuildLeaves(withoutMiddleBatch), /missing from the log read/);
    assert.throws(
      () =>
        judge(2n, { entries: withoutMiddleBatch.filter((entry) => entry.eventName === "ResultDelivered") }),
      /no batch read holds sequence 1/,
    );
    const withoutResult = entries.filter(
      (entry) => !(entry.eventName === "ResultDelivered" && entry.args.requestId === 3n),
    );
    assert.throws(
      () => rebuildLeaves(withoutResult),
      /no ResultDelivered event was read for sequence 2 \(leaf 5\)/,
    );
    assert.throws(
      () => rebuildLeaves([...entries, entries[1] as ResultLogEntry]),
      /two results read for sequence 0/,
    );
  });

  describe("results delivered without a proof", () => {
    // Requests 6 and 7 (sequences 5 and 6) wait in the queue; the chain at 5 is a delivery checkpoint.
    const queuedArgs = [delivered(6n, 5n, "it 0.9300"), delivered(7n, 6n, "pt 0.9100")];
    const withQueue: ResultLogEntry[] = [
      ...entries,
      ...queuedArgs.map((args) => ({ eventName: "ResultDelivered" as const, args })),
    ];
    const head = keccak256(toHex("the chain where the queue starts"));
    const queue: PendingLog = {
      proven: 5n,
      delivered: 7n,
      head,
      tail: queuedArgs.reduce((chain, args) => extendChain(chain, deliveredLeaf(args)), head),
    };
    const judgePending = (requestId: bigint, overrides: Partial<Parameters<typeof checkResult>[0]> = {}) =>
      checkResult({
        result: findResultEntry(withQueue, requestId) as ResultDeliveredArgs,
        entries: withQueue,
        root,
        queue,
        blockNumber: 9n,
        ...overrides,
      });

    it("the chain step is keccak256(abi.encode(chain, leaf)), as the coordinator hashes it", () => {
      const leaf = 12345n;
      assert.equal(
        extendChain(head, leaf),
        keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "uint256" }], [head, leaf])),
      );
    });

    it("accepts each queued result as pending, with no slot yet, and proven ones still as proven", () => {
      for (const requestId of [6n, 7n]) {
        const verdict = judgePending(requestId);
        assert.equal(verdict.valid, true, verdict.reason);
        assert.equal(verdict.state, "pending");
        assert.match(verdict.meaning, /^in the log, proof pending: /);
        assert.equal(verdict.leafIndex, undefined);
        assert.deepEqual(verdict.siblings, []);
        assert.equal(verdict.sequence, requestId - 1n);
        assert.deepEqual(verdict.queue, queue);
      }
      assert.equal(judgePending(2n).state, "proven");
      assert.equal(judgePending(2n).valid, true);
      assert.deepEqual(rebuildLeaves(withQueue), rebuildLeaves(entries), "queued results have no slot");
    });

    it("rejects a tampered output, status, metadata or operator, naming the leaf the queue holds", () => {
      const result = queuedArgs[0] as ResultDeliveredArgs;
      for (const claim of [
        { output: "en 0.9300" },
        { status: ResultStatus.ModelError },
        { metadata: "{}" },
        { operator: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" as const },
      ]) {
        const verdict = judgePending(6n, { claim });
        assert.equal(verdict.valid, false, JSON.stringify(claim));
        assert.equal(verdict.state, "pending");
        assert.equal(verdict.leaf, claimedLeaf(result, claim));
        assert.equal(
          verdict.reason,
          `the queue of pending leaves holds leaf ${deliveredLeaf(result)} at sequence 5, the result's leaf is ${verdict.leaf}`,
        );
      }
    });

    it("rejects a path or a slot for a result that has none yet", () => {
      assert.match(judgePending(6n, { leafIndex: 9n }).reason ?? "", /is not proven at block 9/);
      assert.match(judgePending(7n, { siblings: judge(1n).siblings }).reason ?? "", /is not proven/);
    });

    it("says so when the events do not rebuild the onchain chain, or the result is outside the queue", () => {
      const forgedTail = { ...queue, tail: keccak256(toHex("another chain")) };
      assert.match(
        judgePending(6n, { queue: forgedTail }).reason ?? "",
        /the events read rebuild the pending queue's chain 0x[0-9a-f]{64}, the coordinator holds/,
      );
      // A forged event swapped in for sequence 6 leaves the chain unmatched for every queued result.
      const swapped = withQueue.map((entry) =>
        entry.eventName === "ResultDelivered" && entry.args.requestId === 7n
          ? { ...entry, args: { ...entry.args, output: toHex("forged") } }
          : entry,
      );
      assert.match(judgePending(6n, { entries: swapped }).reason ?? "", /rebuild the pending queue's chain/);
      // pendingLog read at a block before request 7 was delivered.
      const earlier = {
        ...queue,
        delivered: 6n,
        tail: extendChain(head, deliveredLeaf(queuedArgs[0] as ResultDeliveredArgs)),
      };
      assert.match(
        judgePending(7n, { queue: earlier }).reason ?? "",
        /sequence 6 is not in the queue of pending leaves \(sequences 5 to 5\)/,
      );
      assert.equal(judgePending(6n, { queue: earlier }).valid, true);
    });

    it("refuses to judge when a queued result's event was not read", () => {
      const missing = withQueue.filter(
        (entry) => !(entry.eventName === "ResultDelivered" && entry.args.requestId === 7n),
      );
      assert.throws(
        () =>
          checkPending({
            result: queuedArgs[0] as ResultDeliveredArgs,
            entries: missing,
            queue,
            blockNumber: 9n,
          }),
        (error) => error instanceof IncompleteLogError && /sequence 6/.test(error.message),
      );
    });
  });

  it("reads models, inputs and outputs the way people write them", () => {
    assert.equal(resolveModelId("language-id"), MODEL);
    assert.equal(resolveModelId(MODEL.toUpperCase().replace("0X", "0x")), MODEL);
    assert.equal(toBytesHex("hello"), stringToHex("hello"));
    assert.equal(toBytesHex("0xdead"), "0xdead");
    assert.equal(toBytesHex("0xabc"), stringToHex("0xabc"), "odd-length hex is text");
    assert.equal(toBytesHex(new Uint8Array([1, 2])), "0x0102");
    assert.equal(decodeUtf8(toHex("fr 0.9962")), "fr 0.9962");
    assert.equal(decodeUtf8("0xff" as Hex), undefined);
  });
});
