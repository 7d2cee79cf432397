// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {YesNoMarket} from "../../contracts/examples/YesNoMarket.sol";
import {
    CallbackOutcome,
    Model,
    RequestCommitment,
    ResultStatus
} from "../../contracts/interfaces/SibylTypes.sol";
import {YesNoMarketFixture} from "./utils/YesNoMarketFixture.sol";

/// @notice Every YesNoMarket that takes bets ends, resolved or void, whatever the answer, the
/// operators or the coordinator do.
contract YesNoMarketEndingsTest is YesNoMarketFixture {
    // ─── Answers of any kind ───────────────────────────────────────────────────────────────────────

    function test_onSibylResult_errorOrUnclearAnswerVoids() public {
        _assertVoidedAndEveryStakeBack(
            _settleWith(ResultStatus.ModelError, "model error"),
            YesNoMarket.VoidReason.ModelFailed
        );
        _assertVoidedAndEveryStakeBack(
            _settleWith(ResultStatus.Ok, "maybe"),
            YesNoMarket.VoidReason.UnclearAnswer
        );
    }

    function test_onSibylResult_a300ByteAnswerVoidsWithTheCallbackSucceeded() public {
        bytes memory answer = new bytes(300);
        for (uint256 i; i < answer.length; ++i) answer[i] = " ";
        answer[0] = "y";
        answer[1] = "e";
        answer[2] = "s";
        _assertVoidedAndEveryStakeBack(
            _settleWith(ResultStatus.Ok, answer),
            YesNoMarket.VoidReason.UnclearAnswer
        );
    }

    function test_onSibylResult_theLargestAnswerAnyModelMayGiveVoidsWithTheCallbackSucceeded() public {
        uint32 largest = coordinator.MAX_OUTPUT_BYTES();
        Model memory big = _model();
        big.maxOutputBytes = largest;
        coordinator.updateModel(MODEL_ID, big);
        bytes memory answer = new bytes(largest);
        for (uint256 i; i < answer.length; ++i) answer[i] = " ";
        answer[largest - 3] = "y";
        answer[largest - 2] = "e";
        answer[largest - 1] = "s";
        _assertVoidedAndEveryStakeBack(
            _settleWith(ResultStatus.Ok, answer),
            YesNoMarket.VoidReason.UnclearAnswer
        );
    }

    /// @dev Measured in this test's transaction, where the three slots the callback touches are
    /// already warm, so a generous cold surcharge (eight slots and an account) is added.
    function test_onSibylResult_costliestPathTakesUnderHalfItsGas() public {
        uint256 marketId = _openMarketWithBets();
        _closeAndReport(marketId);
        RequestCommitment memory commitment = _resolveAs(carol, marketId);
        uint256 coldSurcharge = 8 * 2_100 + 2_600;
        uint256 limit = market.CALLBACK_GAS_LIMIT();
        vm.prank(address(coordinator));
        uint256 before = gasleft();
        market.onSibylResult{gas: limit}(commitment.requestId, ResultStatus.Ok, "yes");
        uint256 used = before - gasleft() + coldSurcharge;
        assertTrue(market.marketOf(marketId).phase == YesNoMarket.Phase.Resolved, "resolved");
        assertGe(limit / 2, used, "half the limit covers it");
    }

    function testFuzz_onSibylResult_anyAnswerEndsTheMarket(bytes calldata answer, uint8 status) public {
        vm.assume(answer.length <= MAX_OUTPUT);
        // NoConsensus is only ever a quorum model's answer; the market's model has quorum 1.
        ResultStatus resultStatus = ResultStatus(bound(status, 0, uint8(ResultStatus.NoConsensus) - 1));
        uint256 marketId = _settleWith(resultStatus, answer);
        YesNoMarket.Phase phase = market.marketOf(marketId).phase;
        assertTrue(phase == YesNoMarket.Phase.Resolved || phase == YesNoMarket.Phase.Voided, "ended");
    }

    // ─── Unanswered requests and the void path ─────────────────────────────────────────────────────

    function test_voidMarket_unansweredRequestIsCancelledThenTheMarketVoidedWithFullRefunds() public {
        uint256 marketId = _openMarketWithBets();
        _closeAndReport(marketId);
        RequestCommitment memory commitment = _resolveAs(carol, marketId);
        _cancelAs(stranger, commitment);
        assertEq(coordinator.balanceOf(carol), commitment.escrow, "the payer gets the whole escrow");
        assertEq(coordinator.balanceOf(stranger), 0, "the canceller gets nothing");
        assertEq(coordinator.balanceOf(address(market)), 0, "nothing pools in the market");

        (, uint256 resolutionDeadline) = market.deadlinesOf(marketId);
        vm.expectRevert(
            abi.encodeWithSelector(
                YesNoMarket.YesNoMarket__NotVoidable.selector,
                marketId,
                resolutionDeadline
            )
        );
        market.voidMarket(marketId);
        vm.warp(resolutionDeadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                YesNoMarket.YesNoMarket__ResolutionClosed.selector,
                marketId,
                resolutionDeadline
            )
        );
        market.resolve{value: 1 ether}(marketId);
        vm.prank(stranger);
        market.voidMarket(marketId);
        _assertVoidedAndEveryStakeBack(marketId, YesNoMarket.VoidReason.NotResolvedInTime);
        vm.expectRevert(
            abi.encodeWithSelector(
                YesNoMarket.YesNoMarket__WrongPhase.selector,
                marketId,
                YesNoMarket.Phase.Voided
            )
        );
        market.voidMarket(marketId);
    }

    function test_resolve_retriesOnceTheEarlierRequestIsCancelledEachPayerRefunded() public {
        uint256 marketId = _openMarketWithBets();
        _closeAndReport(marketId);
        RequestCommitment memory first = _resolveAs(carol, marketId);
        _cancelAs(stranger, first);
        RequestCommitment memory second = _resolveAs(bob, marketId);
        assertEq(second.refundTo, bob, "the second payer's refund is the second payer's");
        (, uint256 fee) = _deliver(second, ResultStatus.Ok, "no");
        assertEq(coordinator.balanceOf(carol), first.escrow, "carol's escrow back");
        assertEq(coordinator.balanceOf(bob), second.escrow - fee, "bob's rest");
        assertEq(_claim(bob, marketId), 5 ether, "bob alone bet no");
    }

    function test_onSibylResult_anAnswerAfterTheResolutionDeadlineVoids() public {
        uint256 marketId = _openMarketWithBets();
        _closeAndReport(marketId);
        (, uint256 resolutionDeadline) = market.deadlinesOf(marketId);
        vm.warp(resolutionDeadline - 10 minutes);
        RequestCommitment memory commitment = _resolveAs(carol, marketId);
        vm.warp(resolutionDeadline + 1);
        (CallbackOutcome callback, ) = _deliver(commitment, ResultStatus.Ok, "yes");
        assertTrue(callback == CallbackOutcome.Succeeded, "delivered");
        _assertVoidedAndEveryStakeBack(marketId, YesNoMarket.VoidReason.AnswerAfterDeadline);
    }

    function test_onSibylResult_anAnswerToAVoidedMarketChangesNothing() public {
        uint256 marketId = _openMarketWithBets();
        _closeAndReport(marketId);
        (, uint256 resolutionDeadline) = market.deadlinesOf(marketId);
        vm.warp(resolutionDeadline - 10 minutes);
        RequestCommitment memory commitment = _resolveAs(carol, marketId);
        vm.warp(resolutionDeadline + 1);
        market.voidMarket(marketId);
        _deliver(commitment, ResultStatus.Ok, "yes");
        _assertVoidedAndEveryStakeBack(marketId, YesNoMarket.VoidReason.NotResolvedInTime);
    }

    function test_resolve_whileARequestIsPendingTheFirstAnswerDecides() public {
        uint256 marketId = _openMarketWithBets();
        _closeAndReport(marketId);
        RequestCommitment memory stalled = _resolveAs(carol, marketId);
        RequestCommitment memory second = _resolveAs(bob, marketId);
        _deliver(second, ResultStatus.Ok, "no");
        (CallbackOutcome callback, uint256 fee) = _deliver(stalled, ResultStatus.Ok, "yes");
        assertTrue(callback == CallbackOutcome.Succeeded, "the later answer is delivered");
        assertTrue(market.marketOf(marketId).phase == YesNoMarket.Phase.Resolved, "resolved");
        assertTrue(!market.marketOf(marketId).outcome, "the first answer stands");
        assertEq(coordinator.balanceOf(carol), stalled.escrow - fee, "each payer pays for its own request");
        assertEq(_claim(bob, marketId), 5 ether, "bob alone bet no");
    }
}
