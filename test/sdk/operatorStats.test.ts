/**
 * getOperatorStats against a real coordinator: two operators, one that lets its window pass (taken
 * over and penalized), one that equivocates (slashed by a reporter), and a request cancelled
 * unanswered. Each operator's record must count what happened to it and nothing that happened to the
 * other; one takeover is one miss however many events name it.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { type Address, getAddress, type Hex, keccak256, parseEventLogs, toHex } from "viem";
import { getOperatorStats, type OperatorStats, ResultStatus } from "../../src/sdk/index.js";
import { equivocationCommitment, type RequestCommitment } from "../../src/shared/encoding.js";
import { assignNextRequestTo, type ResultStatement, signStatement } from "../helpers/quorum.js";
import {
  ask,
  deploySibyl,
  type Sibyl,
  stakeOperator,
  TEST_METADATA,
  TEST_MODEL,
  TEST_OPERATOR_PARAMETERS,
} from "../helpers/sibyl.js";

const ETH = 10n ** 18n;
const ENDPOINT = "http://127.0.0.1:7001/cosign";

describe("SDK: getOperatorStats", () => {
  it("counts each operator's deliveries, missed assignments, penalties and slashes, at any block", async () => {
    const connection = await network.create();
    const sibyl = await deploySibyl(connection.viem);
    const { coordinator, publicClient } = sibyl;
    const [requester, late, reporter] = sibyl.users;
    if (requester === undefined || late === undefined || reporter === undefined)
      throw new Error("the network needs user accounts");
    const punctual = sibyl.operator;
    const mined = (hash: Promise<Hex>) => minedIn(sibyl, hash);
    await stakeOperator(sibyl, late.account, undefined, 2n * ETH);
    await mined(sibyl.ledger.write.setOperatorEndpoint([ENDPOINT], { account: late.account }));
    const askOf = async (operator: Address, input: string) => {
      await assignNextRequestTo(connection, sibyl, operator);
      const { commitment } = await ask(sibyl, input);
      assert.equal(
        getAddress(commitment.operator),
        getAddress(operator),
        "steered to the operator asked for",
      );
      return commitment;
    };
    const deliver = (account: typeof punctual, commitment: RequestCommitment) =>
      mined(
        coordinator.write.deliver(
          [
            [
              {
                commitment,
                status: ResultStatus.Ok,
                output: toHex("en"),
                metadata: TEST_METADATA,
                signatures: "0x",
              },
            ],
          ],
          { account: account.account },
        ),
      );

    // Served by its assignee.
    await deliver(punctual, await askOf(punctual.account.address, "one"));
    // The assignee lets its window pass: the other takes it over (penalizing it) and delivers.
    const takenOver = await askOf(punctual.account.address, "two");
    await connection.networkHelpers.time.increase(Number(TEST_OPERATOR_PARAMETERS.exclusiveWindow) + 1);
    const reassignment = await mined(coordinator.write.reassign([[takenOver]], { account: late.account }));
    const [reassigned] = parseEventLogs({
      abi: coordinator.abi,
      logs: reassignment.logs,
      eventName: "RequestReassigned",
    });
    assert.ok(reassigned !== undefined);
    await deliver(late, reassigned.args.commitment);
    const equivocatedOn = await askOf(late.account.address, "three");
    await deliver(late, equivocatedOn);
    const beforeSlash = await publicClient.getBlockNumber();

    // The other operator signs two answers to one request; a reporter commits, then reveals.
    await reportEquivocation(sibyl, late, reporter, equivocatedOn.requestId);
    // With it gone, the punctual operator gets the next request, which nobody answers before its deadline.
    const expired = await askOf(punctual.account.address, "four");
    await connection.networkHelpers.time.increase(TEST_MODEL.timeout + 1);
    await mined(coordinator.write.cancel([expired], { account: requester.account }));

    const penalty = TEST_OPERATOR_PARAMETERS.livenessPenalty;
    const slashedStake = (2n * ETH * BigInt(TEST_OPERATOR_PARAMETERS.equivocationSlashBps)) / 10_000n;
    const stats = await getOperatorStats(publicClient, { coordinator: coordinator.address });
    assert.deepEqual(
      stats.map((entry) => withoutUnlock(entry)),
      [
        {
          operator: getAddress(punctual.account.address),
          state: "active",
          stake: ETH - penalty,
          endpoint: "",
          served: 1,
          missed: 2,
          penalties: 1,
          penaltiesPaid: penalty,
          slashes: 0,
          slashed: 0n,
        },
        {
          operator: getAddress(late.account.address),
          state: "exiting",
          stake: 2n * ETH - slashedStake,
          endpoint: ENDPOINT,
          served: 2,
          missed: 0,
          penalties: 0,
          penaltiesPaid: 0n,
          slashes: 1,
          slashed: slashedStake,
        },
      ],
    );
    assert.equal(stats[0]?.unlockAt, 0n, "never left the active set");
    const now = BigInt((await publicClient.getBlock()).timestamp);
    assert.ok((stats[1]?.unlockAt ?? 0n) > now, "a slashed operator's stake stays locked");

    // As of the block before the slash: still active, nothing slashed, the one miss already there.
    const earlier = await getOperatorStats(publicClient, {
      coordinator: coordinator.address,
      blockNumber: beforeSlash,
    });
    assert.deepEqual(
      earlier.map(({ state, stake, missed, slashes }) => ({ state, stake, missed, slashes })),
      [
        { state: "active", stake: ETH - penalty, missed: 1, slashes: 0 },
        { state: "active", stake: 2n * ETH, missed: 0, slashes: 0 },
      ],
    );
  });
});

async function minedIn(sibyl: Sibyl, hash: Promise<Hex>) {
  const receipt = await sibyl.publicClient.waitForTransactionReceipt({ hash: await hash });
  assert.equal(receipt.status, "success");
  return receipt;
}

function withoutUnlock({ unlockAt: _unlockAt, ...rest }: OperatorStats) {
  return rest;
}

/** `signer` signs two different outputs for `requestId`; `reporter` commits to the report, then makes it. */
async function reportEquivocation(
  sibyl: Sibyl,
  signer: Sibyl["operator"],
  reporter: Sibyl["operator"],
  requestId: bigint,
) {
  const chainId = await sibyl.publicClient.getChainId();
  const statementOf = (output: string): ResultStatement => ({
    requestId,
    outputHash: keccak256(toHex(output)),
    status: ResultStatus.Ok,
  });
  const a = statementOf("en");
  const b = statementOf("fr");
  const signatureA = await signStatement(signer, sibyl.coordinator.address, chainId, a);
  const signatureB = await signStatement(signer, sibyl.coordinator.address, chainId, b);
  const commitment = equivocationCommitment(
    reporter.account.address,
    sibyl.coordinator.address,
    { statement: a, signature: signatureA },
    { statement: b, signature: signatureB },
  );
  const account = reporter.account;
  // Two transactions, so two blocks: a report is only taken from a block after its commitment's.
  await minedIn(sibyl, sibyl.ledger.write.commitEquivocationReport([commitment], { account }));
  await minedIn(
    sibyl,
    sibyl.ledger.write.reportEquivocation([sibyl.coordinator.address, a, signatureA, b, signatureB], {
      account,
    }),
  );
}
