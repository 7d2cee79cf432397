// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {YesNo} from "../../contracts/examples/YesNoAnswer.sol";
import {YesNoMarket} from "../../contracts/examples/YesNoMarket.sol";
import {
    FeeParameters,
    Model,
    RequestCommitment,
    ResultStatus
} from "../../contracts/interfaces/SibylTypes.sol";
import {YesNoMarketFixture} from "./utils/YesNoMarketFixture.sol";

/// @notice YesNoMarket's creation, betting, reporting, claims and parsing; how markets end is in
/// YesNoMarketEndings.t.sol.
contract YesNoMarketTest is YesNoMarketFixture {
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

        YesNoMarket unknown = new YesNoMarket(log, "no-such-model", REPORT_WINDOW, RESOLUTION_WINDOW);
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__UnknownModel.selector, bytes32("no-such-model"))
        );
        unknown.create("q", reporter, closesAt + 1);
    }

    function test_create_refusesASlowModelALowGasCapABadReporterOrAPastClose() public {
        YesNoMarket hasty = new YesNoMarket(log, MODEL_ID, REPORT_WINDOW, TIMEOUT);
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__ModelTooSlow.selector, MODEL_ID, TIMEOUT, TIMEOUT)
        );
        hasty.create("q", reporter, uint64(block.timestamp + 1));
        FeeParameters memory lowCap = _feeParameters();
        lowCap.maxCallbackGasLimit = market.CALLBACK_GAS_LIMIT() - 1;
        coordinator.setFeeParameters(lowCap);
        vm.expectRevert(
            abi.encodeWithSelector(
                YesNoMarket.YesNoMarket__CallbackGasCapTooLow.selector,
                lowCap.maxCallbackGasLimit,
                market.CALLBACK_GAS_LIMIT()
            )
        );
        market.create("q", reporter, uint64(block.timestamp + 1));
        coordinator.setFeeParameters(_feeParameters());
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
        new YesNoMarket(log, MODEL_ID, 0, 1);
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
            abi.encodeWithSelector(
                YesNoMarket.YesNoMarket__WrongPhase.selector,
                marketId,
                YesNoMarket.Phase.Open
            )
        );
        market.resolve{value: 1 ether}(marketId);
        vm.expectRevert(abi.encodeWithSelector(YesNoMarket.YesNoMarket__EmptyEvidence.selector, marketId));
        vm.prank(reporter);
        market.report(marketId, "");

        uint256 room = MAX_INPUT - market.inputOf(marketId).length;
        vm.expectRevert(
            abi.encodeWithSelector(
                YesNoMarket.YesNoMarket__EvidenceTooLong.selector,
                marketId,
                room + 1,
                room
            )
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
            abi.encodeWithSelector(
                YesNoMarket.YesNoMarket__ReportWindowClosed.selector,
                marketId,
                reportDeadline
            )
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
            abi.encodeWithSelector(
                YesNoMarket.YesNoMarket__WrongPhase.selector,
                marketId,
                YesNoMarket.Phase.Open
            )
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
