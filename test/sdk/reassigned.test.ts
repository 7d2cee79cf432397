/**
 * A request another operator took over (reassign) carries a new commitment: the SDK must find it, or
 * a cancel after the deadline would re-supply the old one and revert, locking the escrow.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { cancelRequest, getRequest } from "../../src/sdk/index.js";
import { ask, deploySibyl, stakeOperator, TEST_MODEL, TEST_OPERATOR_PARAMETERS } from "../helpers/sibyl.js";

describe("SDK: a reassigned request", () => {
  it("reads the takeover's commitment, and cancels with it after the deadline, refunding in full", async () => {
    const connection = await network.create();
    const sibyl = await deploySibyl(connection.viem);
    const [other, user] = sibyl.users;
    if (other === undefined || user === undefined) throw new Error("the network needs user accounts");
    await stakeOperator(sibyl, other.account);
    const { commitment } = await ask(sibyl, "taken over, then expired");
    // The window passes; whichever operator was not assigned takes the request over.
    await connection.provider.request({ method: "evm_increaseTime", params: [60] });
    const taker =
      commitment.operator.toLowerCase() === other.account.address.toLowerCase() ? sibyl.operator : other;
    await sibyl.publicClient.waitForTransactionReceipt({
      hash: await sibyl.coordinator.write.reassign([[commitment]], { account: taker.account }),
    });

    const request = await getRequest(sibyl.publicClient, {
      coordinator: sibyl.coordinator.address,
      requestId: commitment.requestId,
    });
    assert.equal(request?.commitment.operator.toLowerCase(), taker.account.address.toLowerCase());
    assert.ok((request?.commitment.exclusiveUntil ?? 0n) > commitment.exclusiveUntil, "a new window");

    await connection.provider.request({ method: "evm_increaseTime", params: [TEST_MODEL.timeout + 1] });
    const refundTo = commitment.refundTo;
    const before = await sibyl.coordinator.read.balanceOf([refundTo]);
    const receipt = await cancelRequest(user, {
      coordinator: sibyl.coordinator.address,
      requestId: commitment.requestId,
    });
    assert.equal(receipt.status, "success");
    // The whole escrow; the late assignee's penalty was burned at the takeover, paid to nobody.
    assert.equal(await sibyl.coordinator.read.balanceOf([refundTo]), before + commitment.escrow);
    assert.equal(await sibyl.ledger.read.burned(), TEST_OPERATOR_PARAMETERS.livenessPenalty);
    const late = (await sibyl.ledger.read.operatorOf([commitment.operator])).stake;
    assert.equal(late, 10n ** 18n - TEST_OPERATOR_PARAMETERS.livenessPenalty);
  });
});
