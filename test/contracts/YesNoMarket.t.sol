// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SibylCoordinator} from "../../contracts/SibylCoordinator.sol";
import {YesNo} from "../../contracts/examples/YesNoAnswer.sol";
import {YesNoMarket} from "../../contracts/examples/YesNoMarket.sol";
import {CallbackOutcome, Model, RequestCommitment, ResultStatus} from "../../contracts/interfaces/SibylTypes.sol";
import {ExamplesFixture} from "./utils/ExamplesFixture.sol";

contract YesNoMarketTest is ExamplesFixture {
    uint64 internal constant REPORT_WINDOW = 1 days;
    uint64 internal constant RESOLUTION_WINDOW = 2 days;
    bytes internal constant EVIDENCE = "Meteo-France: 4 mm of rain fell in Paris on 1 December.";

    YesNoMarket internal market;
    address internal reporter = address(0x4E9047);

    function setUp() public override {
        super.setUp();
        market = new YesNoMarket(coordinator, MODEL_ID, REPORT_WINDOW, RESOLUTION_WINDOW);
    }

    /// @dev alice 1 ether yes, bob 3 ether no, carol 1 ether yes.
    function _openMarketWithBets() internal returns (uint256 marketId) {
        marketId = market.create("Will it rain in Paris on 1 December?", reporter, uint64(block.timestamp + 1 days));
        vm.prank(alice);
        market.bet{value: 1 ether}(marketId, true);
        vm.prank(bob);
        market.bet{value: 3 ether}(marketId, false);
        vm.prank(carol);
        market.bet{value: 1 ether}(marketId, true);
    }

    function _closeAndReport(uint256 marketId) internal {
        vm.warp(market.marketOf(marketId).closesAt);
        vm.prank(reporter);
        market.report(marketId, string(EVIDENCE));
    }

    /// @dev `payer` asks the model to judge the market, escrowing the least it takes now.
    function _resolveAs(address payer, uint256 marketId) internal returns (RequestCommitment memory) {
        uint256 escrow = market.resolveEscrow();
        _recordRequest();
        vm.prank(payer);
        market.resolve{value: escrow}(marketId);
        return _requestedCommitment();
    }

    /// @dev Opens, bets, reports, and delivers `answer` to carol's resolution request.
    function _settleWith(ResultStatus status, bytes memory answer) internal returns (uint256 marketId) {
        marketId = _openMarketWithBets();
        _closeAndReport(marketId);
        (CallbackOutcome callback, ) = _deliver(_resolveAs(carol, marketId), status, answer);
        assertTrue(callback == CallbackOutcome.Succeeded, "the callback never fails");
    }

    function _claim(address account, uint256 marketId) internal returns (uint256 paid) {
        uint256 before = account.balance;
        vm.prank(account);
        market.claim(marketId);
        return account.balance - before;
    }

    function _assertVoidedAndEveryStakeBack(uint256 marketId, YesNoMarket.VoidReason reason) internal {
        assertTrue(market.marketOf(marketId).phase == YesNoMarket.Phase.Voided, "voided");
        assertEq(uint8(market.marketOf(marketId).voidReason), uint8(reason), "void reason");
        assertEq(_claim(alice, marketId), 1 ether, "alice's stake back");
        assertEq(_claim(bob, marketId), 3 ether, "bob's stake back");
        assertEq(_claim(carol, marketId), 1 ether, "carol's stake back");
        assertEq(address(market).balance, 0, "nothing left locked");
    }

    // ─── Creation ──────────────────────────────────────────────────────────────────────────────────

    function test_create_refusesAQuestionTheCoordinatorWouldRefuse() public {
        uint64 closesAt = uint64(block.timestamp + 1 days);
        vm.expectRevert(YesNoMarket.YesNoMarket__EmptyQuestion.selector);
        market.create("", reporter, closesAt);

        uint256 room = market.maxQuestionBytes();
        assertTrue(room > 0 && room < MAX_INPUT, "the framing takes some of the model's input");
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__QuestionTooLong.selector, room + 1, room)
        );
        market.create(string(new bytes(room + 1)), reporter, closesAt);
        uint256 longest = market.create(string(new bytes(room)), reporter, closesAt);

        // The longest question with one byte of evidence is a request the coordinator takes.
        vm.warp(closesAt);
        vm.prank(reporter);
        market.report(longest, "x");
        assertEq(market.inputOf(longest).length, MAX_INPUT, "fills the model's input exactly");
        _resolveAs(carol, longest);

        Model memory disabled = _model();
        disabled.enabled = false;
        coordinator.updateModel(MODEL_ID, disabled);
        vm.expectRevert(abi.encodeWithSelector(YesNoMarket.YesNoMarket__ModelDisabled.selector, MODEL_ID));
        market.create("q", reporter, closesAt + 1);

        YesNoMarket unknown = new YesNoMarket(coordinator, "no-such-model", REPORT_WINDOW, RESOLUTION_WINDOW);
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__UnknownModel.selector, bytes32("no-such-model"))
        );
        unknown.create("q", reporter, closesAt + 1);
    }

    function test_create_refusesAModelTooSlowABadReporterOrAPastClose() public {
        YesNoMarket hasty = new YesNoMarket(coordinator, MODEL_ID, REPORT_WINDOW, TIMEOUT);
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__ModelTooSlow.selector, MODEL_ID, TIMEOUT, TIMEOUT)
        );
        hasty.create("q", reporter, uint64(block.timestamp + 1));
        vm.expectRevert(YesNoMarket.YesNoMarket__InvalidReporter.selector);
        market.create("q", address(0), uint64(block.timestamp + 1));
        vm.expectRevert(
            abi.encodeWithSelector(
                YesNoMarket.YesNoMarket__CloseInPast.selector,
                uint64(block.timestamp),
                block.timestamp
            )
        );
        market.create("q", reporter, uint64(block.timestamp));
        vm.expectRevert(abi.encodeWithSelector(YesNoMarket.YesNoMarket__InvalidWindows.selector, 0, 1));
        new YesNoMarket(coordinator, MODEL_ID, 0, 1);
    }

    // ─── Betting and reporting ─────────────────────────────────────────────────────────────────────

    function test_bet_onlyWithStakeAndBeforeClose() public {
        uint256 marketId = _openMarketWithBets();
        uint64 closesAt = market.marketOf(marketId).closesAt;
        vm.expectRevert(abi.encodeWithSelector(YesNoMarket.YesNoMarket__ZeroBet.selector, marketId));
        market.bet(marketId, true);
        vm.warp(closesAt);
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__BettingClosed.selector, marketId, closesAt)
        );
        vm.prank(alice);
        market.bet{value: 1}(marketId, true);
        vm.expectRevert(abi.encodeWithSelector(YesNoMarket.YesNoMarket__UnknownMarket.selector, 99));
        market.bet{value: 1}(99, true);
    }

    function test_report_onlyByTheReporterAfterCloseWithEvidenceThatFits() public {
        uint256 marketId = _openMarketWithBets();
        uint64 closesAt = market.marketOf(marketId).closesAt;
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__BettingOpen.selector, marketId, closesAt)
        );
        vm.prank(reporter);
        market.report(marketId, string(EVIDENCE));
        vm.warp(closesAt);
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__NotReporter.selector, marketId, alice, reporter)
        );
        vm.prank(alice);
        market.report(marketId, string(EVIDENCE));
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__WrongPhase.selector, marketId, YesNoMarket.Phase.Open)
        );
        market.resolve{value: 1 ether}(marketId);
        vm.expectRevert(abi.encodeWithSelector(YesNoMarket.YesNoMarket__EmptyEvidence.selector, marketId));
        vm.prank(reporter);
        market.report(marketId, "");

        uint256 room = MAX_INPUT - market.inputOf(marketId).length;
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__EvidenceTooLong.selector, marketId, room + 1, room)
        );
        vm.prank(reporter);
        market.report(marketId, string(new bytes(room + 1)));

        vm.prank(reporter);
        market.report(marketId, string(EVIDENCE));
        vm.expectRevert(
            abi.encodeWithSelector(
                YesNoMarket.YesNoMarket__WrongPhase.selector,
                marketId,
                YesNoMarket.Phase.Reported
            )
        );
        vm.prank(reporter);
        market.report(marketId, "changed my mind");
        bytes memory input = market.inputOf(marketId);
        assertEq(
            _resolveAs(carol, marketId).inputHash,
            keccak256(input),
            "the model judges the question with the evidence"
        );
    }

    function test_report_noneInTimeVoidsTheMarket() public {
        uint256 marketId = _openMarketWithBets();
        (uint256 reportDeadline, ) = market.deadlinesOf(marketId);
        vm.warp(reportDeadline);
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__NotVoidable.selector, marketId, reportDeadline)
        );
        market.voidMarket(marketId);
        vm.warp(reportDeadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__ReportWindowClosed.selector, marketId, reportDeadline)
        );
        vm.prank(reporter);
        market.report(marketId, string(EVIDENCE));
        vm.prank(stranger);
        market.voidMarket(marketId);
        _assertVoidedAndEveryStakeBack(marketId, YesNoMarket.VoidReason.NoReport);
    }

    // ─── Resolution and claims ─────────────────────────────────────────────────────────────────────

    function test_claim_winnersShareThePoolProRata() public {
        uint256 marketId = _settleWith(ResultStatus.Ok, " Yes.\n");
        assertTrue(market.marketOf(marketId).phase == YesNoMarket.Phase.Resolved, "resolved");
        assertTrue(market.marketOf(marketId).outcome, "yes");
        assertEq(_claim(alice, marketId), 2.5 ether, "1 of 2 yes-ether gets half of 5");
        assertEq(_claim(carol, marketId), 2.5 ether, "the other half");
        assertEq(address(market).balance, 0, "the whole pool paid out");
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__NothingToClaim.selector, marketId, bob)
        );
        vm.prank(bob);
        market.claim(marketId);
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__NothingToClaim.selector, marketId, alice)
        );
        vm.prank(alice);
        market.claim(marketId);
    }

    function test_claim_nobodyWonSoEveryStakeComesBack() public {
        uint256 marketId = market.create("Will it snow?", reporter, uint64(block.timestamp + 1 days));
        vm.prank(alice);
        market.bet{value: 1 ether}(marketId, true);
        vm.prank(bob);
        market.bet{value: 3 ether}(marketId, true);
        _closeAndReport(marketId);
        _deliver(_resolveAs(carol, marketId), ResultStatus.Ok, "no");
        assertTrue(market.marketOf(marketId).phase == YesNoMarket.Phase.Resolved, "resolved");
        assertTrue(!market.marketOf(marketId).outcome, "no");
        assertEq(_claim(alice, marketId), 1 ether, "alice's stake");
        assertEq(_claim(bob, marketId), 3 ether, "bob's stake");
        assertEq(address(market).balance, 0, "nothing locked");
    }

    function test_claim_notBeforeTheMarketEnds() public {
        uint256 marketId = _openMarketWithBets();
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__WrongPhase.selector, marketId, YesNoMarket.Phase.Open)
        );
        vm.prank(alice);
        market.claim(marketId);
    }

    function test_resolve_payerGetsTheRestOfTheEscrow() public {
        uint256 marketId = _openMarketWithBets();
        _closeAndReport(marketId);
        RequestCommitment memory commitment = _resolveAs(stranger, marketId);
        assertEq(commitment.refundTo, stranger, "refunds go to the payer");
        (, uint256 fee) = _deliver(commitment, ResultStatus.Ok, "no");
        assertEq(coordinator.balanceOf(stranger), commitment.escrow - fee, "the payer's rest");
        assertEq(coordinator.balanceOf(address(market)), 0, "nothing pools in the market");
    }

    function test_onSibylResult_errorOrUnclearAnswerVoids() public {
        _assertVoidedAndEveryStakeBack(
            _settleWith(ResultStatus.ModelError, "model error"),
            YesNoMarket.VoidReason.ModelFailed
        );
        _assertVoidedAndEveryStakeBack(_settleWith(ResultStatus.Ok, "maybe"), YesNoMarket.VoidReason.UnclearAnswer);
    }

    function test_onSibylResult_a300ByteAnswerVoidsWithTheCallbackSucceeded() public {
        bytes memory answer = new bytes(300);
        for (uint256 i; i < answer.length; ++i) answer[i] = " ";
        answer[0] = "y";
        answer[1] = "e";
        answer[2] = "s";
        _assertVoidedAndEveryStakeBack(_settleWith(ResultStatus.Ok, answer), YesNoMarket.VoidReason.UnclearAnswer);
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
        _assertVoidedAndEveryStakeBack(_settleWith(ResultStatus.Ok, answer), YesNoMarket.VoidReason.UnclearAnswer);
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
        ResultStatus resultStatus = ResultStatus(bound(status, 0, uint8(type(ResultStatus).max)));
        uint256 marketId = _settleWith(resultStatus, answer);
        YesNoMarket.Phase phase = market.marketOf(marketId).phase;
        assertTrue(phase == YesNoMarket.Phase.Resolved || phase == YesNoMarket.Phase.Voided, "ended");
    }

    // ─── Unanswered requests and the void path ─────────────────────────────────────────────────────

    function test_voidMarket_unansweredRequestIsCancelledThenTheMarketVoidedWithFullRefunds() public {
        uint256 marketId = _openMarketWithBets();
        _closeAndReport(marketId);
        RequestCommitment memory commitment = _resolveAs(carol, marketId);
        vm.expectRevert(
            abi.encodeWithSelector(
                YesNoMarket.YesNoMarket__ResolutionPending.selector,
                marketId,
                commitment.requestId
            )
        );
        market.resolve{value: 1 ether}(marketId);

        _cancelAs(stranger, commitment);
        assertEq(coordinator.balanceOf(carol), commitment.escrow, "the payer gets the whole escrow");
        assertEq(coordinator.balanceOf(stranger), 0, "the canceller gets nothing");
        assertEq(coordinator.balanceOf(address(market)), 0, "nothing pools in the market");

        (, uint256 resolutionDeadline) = market.deadlinesOf(marketId);
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__NotVoidable.selector, marketId, resolutionDeadline)
        );
        market.voidMarket(marketId);
        vm.warp(resolutionDeadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__ResolutionClosed.selector, marketId, resolutionDeadline)
        );
        market.resolve{value: 1 ether}(marketId);
        vm.prank(stranger);
        market.voidMarket(marketId);
        _assertVoidedAndEveryStakeBack(marketId, YesNoMarket.VoidReason.NotResolvedInTime);
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__WrongPhase.selector, marketId, YesNoMarket.Phase.Voided)
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

    // ─── Parsing ───────────────────────────────────────────────────────────────────────────────────

    function test_parseAnswer() public view {
        assertTrue(market.parseAnswer("YES") == YesNo.Yes, "YES");
        assertTrue(market.parseAnswer("  no. ") == YesNo.No, "no.");
        assertTrue(market.parseAnswer("\tYes.\r\n") == YesNo.Yes, "padded yes");
        assertTrue(market.parseAnswer("yes, probably") == YesNo.Unknown, "hedged");
        assertTrue(market.parseAnswer("") == YesNo.Unknown, "empty");
        assertTrue(market.parseAnswer("...") == YesNo.Unknown, "periods only");
        assertTrue(market.parseAnswer("yes             ") == YesNo.Yes, "16 bytes are read");
        assertTrue(market.parseAnswer("yes              ") == YesNo.Unknown, "17 are not");
    }
}
