// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {Fulfillment, Model, RequestCommitment, ResultStatus} from "../../contracts/interfaces/SibylTypes.sol";
import {YesNoMarket} from "../../contracts/examples/YesNoMarket.sol";
import {QuorumFixture} from "./utils/QuorumFixture.sol";
import {Delivered} from "./utils/SettlementFixture.sol";

/// @notice NoConsensus is proven, never claimed: with two other operators' disagreeing statements, or
/// from halfway through the assignee's window, always without output. The attack it stops: an
/// operator that bets in a market, drawn for its resolving request, ending it as NoConsensus at once.
contract SibylNoConsensusTest is QuorumFixture {
    uint8 internal constant NO_CONSENSUS = uint8(ResultStatus.NoConsensus);
    uint8 internal constant OK = uint8(ResultStatus.Ok);

    // ─── Without evidence: a time the deliverer does not choose ────────────────────────────────────

    function test_withoutEvidence_refusedUntilHalfwayThroughTheWindow() public {
        Fulfillment memory undecided = _undecided(QUORUM_2);
        uint64 provableFrom = undecided.commitment.exclusiveUntil - EXCLUSIVE_WINDOW / 2;
        bytes memory tooEarly = abi.encodeWithSelector(
            ISibylCoordinator.NoConsensusTooEarly.selector,
            undecided.commitment.requestId,
            provableFrom
        );
        _expectRefused(undecided, tooEarly);
        vm.warp(provableFrom - 1);
        _expectRefused(undecided, tooEarly);

        vm.warp(provableFrom);
        Delivered memory result = _deliverOne(undecided);
        assertEq(uint256(result.status), NO_CONSENSUS, "ended inside the assignee's window");
        assertTrue(block.timestamp <= undecided.commitment.exclusiveUntil, "before anyone may take over");
        assertEq(ledger.operatorOf(signers[1]).stake, MIN_STAKE, "the assignee pays no penalty");
    }

    /// @dev A request whose deadline comes before its window's halfway mark plus a window (a short
    /// timeout, or a taken-over request whose new window runs to the deadline): provable one window
    /// before the deadline, so it can still end in time.
    function test_withoutEvidence_provableOneWindowBeforeAnEarlyDeadline() public {
        Model memory short = _quorumModel(2);
        short.timeout = uint32(EXCLUSIVE_WINDOW + EXCLUSIVE_WINDOW / 4);
        coordinator.registerModel("short", short);
        for (uint256 i; i < SIGNERS; ++i) _declare(signers[i], "short");
        Fulfillment memory undecided = _fulfillment(_requestFor("short", signers[1]), "");
        undecided.status = NO_CONSENSUS;
        uint64 provableFrom = undecided.commitment.deadline - EXCLUSIVE_WINDOW;
        assertTrue(
            provableFrom < undecided.commitment.exclusiveUntil - EXCLUSIVE_WINDOW / 2,
            "before halfway"
        );
        vm.warp(provableFrom - 1);
        _expectRefused(
            undecided,
            abi.encodeWithSelector(
                ISibylCoordinator.NoConsensusTooEarly.selector,
                undecided.commitment.requestId,
                provableFrom
            )
        );
        vm.warp(provableFrom);
        assertEq(uint256(_deliverOne(undecided).status), NO_CONSENSUS, "ended before its deadline");
    }

    function test_withOutput_refusedEvenWhenProvable() public {
        Fulfillment memory undecided = _undecided(QUORUM_2);
        undecided.output = "yes";
        _warpToNoConsensus(undecided.commitment);
        _expectRefused(
            undecided,
            abi.encodeWithSelector(
                ISibylCoordinator.NoConsensusWithOutput.selector,
                undecided.commitment.requestId,
                3
            )
        );
    }

    // ─── With evidence: two other operators that disagree ──────────────────────────────────────────

    function test_twoOtherOperatorsDisagreeing_acceptedAtOnce() public {
        Fulfillment memory undecided = _undecided(QUORUM_3);
        uint256 id = undecided.commitment.requestId;
        undecided.signatures = bytes.concat(_signedAnswer(0, id, "yes", OK), _signedAnswer(2, id, "no", OK));
        Delivered memory result = _deliverOne(undecided);
        assertEq(uint256(result.status), NO_CONSENSUS, "proven by the two statements");
    }

    function test_anErrorAgainstAnAnswerIsADisagreement() public {
        Fulfillment memory undecided = _undecided(QUORUM_3);
        uint256 id = undecided.commitment.requestId;
        undecided.signatures = bytes.concat(
            _signedAnswer(0, id, "", uint8(ResultStatus.ModelError)),
            _signedAnswer(2, id, "", OK)
        );
        assertEq(uint256(_deliverOne(undecided).status), NO_CONSENSUS, "status alone differs");
    }

    function test_evidenceThatIsNoDisagreement_refused() public {
        Fulfillment memory undecided = _undecided(QUORUM_3);
        uint256 id = undecided.commitment.requestId;
        // The same answer twice.
        _expectNotDisagreement(
            undecided,
            _signedAnswer(0, id, "yes", OK),
            _signedAnswer(2, id, "yes", OK),
            0,
            2
        );
        // One operator's two answers: an equivocation (slashable in the ledger), not a disagreement.
        _expectNotDisagreement(
            undecided,
            _signedAnswer(0, id, "yes", OK),
            _signedAnswer(0, id, "no", OK),
            0,
            0
        );
        // The deliverer disagreeing with one peer: what a lying assignee could always show.
        _expectNotDisagreement(
            undecided,
            _signedAnswer(1, id, "no", OK),
            _signedAnswer(2, id, "yes", OK),
            1,
            2
        );
        // Another request's statement.
        _expectNotDisagreement(
            undecided,
            _signedAnswer(0, id + 1, "no", OK),
            _signedAnswer(2, id, "yes", OK),
            9,
            2
        );
    }

    function test_evidenceFromAnOperatorNotServingTheModel_refused() public {
        Fulfillment memory undecided = _undecided(QUORUM_3);
        uint256 id = undecided.commitment.requestId;
        vm.prank(signers[2]);
        ledger.withdrawModel(QUORUM_3);
        _expectNotDisagreement(
            undecided,
            _signedAnswer(0, id, "yes", OK),
            _signedAnswer(2, id, "no", OK),
            0,
            2
        );
    }

    function test_malformedEvidence_refused() public {
        Fulfillment memory undecided = _undecided(QUORUM_3);
        uint256 id = undecided.commitment.requestId;
        undecided.signatures = bytes.concat(_signedAnswer(0, id, "yes", OK), hex"00");
        _expectRefused(
            undecided,
            abi.encodeWithSelector(ISibylCoordinator.MalformedDisagreement.selector, id, 99)
        );
    }

    function test_aCosignerThatWithdrewTheModel_refused() public {
        Fulfillment memory agreed = _answer(QUORUM_2);
        agreed.signatures = _cosign(agreed, _indices(0));
        vm.prank(signers[0]);
        ledger.withdrawModel(QUORUM_2);
        _expectRefused(agreed, _invalidCosigner(agreed.commitment.requestId, signers[0]));
    }

    // ─── The market attack ─────────────────────────────────────────────────────────────────────────

    /// @dev signers[1] bets no on a question whose evidence says yes, and is drawn for the resolving
    /// request. Before, it delivered NoConsensus in the same transaction and the market was void. Now
    /// it cannot until halfway through its window, and then the market only waits for another answer.
    function test_aBettingAssignee_cannotVoidTheMarket() public {
        YesNoMarket market = new YesNoMarket(log, QUORUM_2, 1 hours, 2 hours);
        address reporter = address(0xBEEF);
        uint256 marketId = market.create("Did it rain?", reporter, uint64(block.timestamp + 1 hours));
        vm.deal(signers[1], 10 ether);
        vm.prank(signers[1]);
        market.bet{value: 1 ether}(marketId, false);
        vm.prank(requester);
        market.bet{value: 1 ether}(marketId, true);
        vm.warp(block.timestamp + 1 hours);
        vm.prank(reporter);
        market.report(marketId, "It rained all day.");

        RequestCommitment memory drawn = _resolveUntilAssigned(market, marketId, signers[1]);
        Fulfillment memory undecided = _fulfillment(drawn, "");
        undecided.status = NO_CONSENSUS;
        _expectRefused(
            undecided,
            abi.encodeWithSelector(
                ISibylCoordinator.NoConsensusTooEarly.selector,
                drawn.requestId,
                drawn.exclusiveUntil - EXCLUSIVE_WINDOW / 2
            )
        );
        _warpToNoConsensus(drawn);
        _deliverOne(undecided);
        assertEq(uint256(market.marketOf(marketId).phase), uint256(YesNoMarket.Phase.Reported), "not void");

        RequestCommitment memory honest = _resolveUntilAssigned(market, marketId, signers[2]);
        Fulfillment memory answer = _fulfillment(honest, "yes");
        answer.signatures = _cosign(answer, _indices(0));
        vm.prank(signers[2]);
        coordinator.deliver(_single(answer));
        YesNoMarket.Market memory resolved = market.marketOf(marketId);
        assertEq(uint256(resolved.phase), uint256(YesNoMarket.Phase.Resolved), "resolved by the next answer");
        assertTrue(resolved.outcome, "yes, as the evidence says");
    }

    // ─── Helpers ───────────────────────────────────────────────────────────────────────────────────

    /// @dev A NoConsensus, without output or evidence, for a request of `modelId` assigned to signers[1].
    function _undecided(bytes32 modelId) internal returns (Fulfillment memory undecided) {
        undecided = _fulfillment(_requestFor(modelId, signers[1]), "");
        undecided.status = NO_CONSENSUS;
    }

    /// @dev Delivering `undecided` with evidence `a` ‖ `b` reverts NotDisagreement naming the signers
    /// (index 9: an address the test does not know in advance, read from the revert's recovery).
    function _expectNotDisagreement(
        Fulfillment memory undecided,
        bytes memory a,
        bytes memory b,
        uint256 signerA,
        uint256 signerB
    ) internal {
        undecided.signatures = bytes.concat(a, b);
        uint256 id = undecided.commitment.requestId;
        if (signerA == 9) {
            vm.prank(signers[1]);
            (bool success, bytes memory err) = address(coordinator).call(
                abi.encodeCall(ISibylCoordinator.deliver, (_single(undecided)))
            );
            assertTrue(!success, "refused");
            assertEq(bytes4(err), ISibylCoordinator.NotDisagreement.selector, "as no disagreement");
            return;
        }
        _expectRefused(
            undecided,
            abi.encodeWithSelector(
                ISibylCoordinator.NotDisagreement.selector,
                id,
                signers[signerA],
                signers[signerB]
            )
        );
    }

    /// @dev Asks `market` to resolve until the request is drawn to `assignee`; returns its commitment.
    function _resolveUntilAssigned(
        YesNoMarket market,
        uint256 marketId,
        address assignee
    ) internal returns (RequestCommitment memory commitment) {
        uint256 escrow = market.resolveEscrow();
        for (uint256 i; i < 64; ++i) {
            vm.recordLogs();
            vm.prank(requester);
            market.resolve{value: escrow}(marketId);
            commitment = _requested(vm.getRecordedLogs());
            if (commitment.operator == assignee) return commitment;
        }
        revert AssertionFailed("never assigned to the operator");
    }
}
