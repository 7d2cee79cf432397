// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SibylConsumer} from "../../contracts/consumer/SibylConsumer.sol";
import {PromptBoard} from "../../contracts/examples/PromptBoard.sol";
import {YesNoMarket} from "../../contracts/examples/YesNoMarket.sol";
import {Fulfillment, RequestCommitment, ResultStatus} from "../../contracts/interfaces/SibylTypes.sol";
import {CoordinatorFixture} from "./utils/CoordinatorFixture.sol";

contract ExamplesTest is CoordinatorFixture {
    PromptBoard internal board;
    YesNoMarket internal market;
    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);
    address internal carol = address(0xCA201);

    function setUp() public override {
        super.setUp();
        board = new PromptBoard(coordinator, MODEL_ID, 300_000);
        market = new YesNoMarket(coordinator, MODEL_ID);
        vm.deal(alice, 10 ether);
        vm.deal(bob, 10 ether);
        vm.deal(carol, 10 ether);
    }

    /// @dev The commitment the coordinator stored for a request a consumer contract made just now.
    function _commitmentFor(
        uint256 requestId,
        address consumer,
        bytes memory input,
        uint32 callbackGas
    ) internal view returns (RequestCommitment memory) {
        return
            RequestCommitment({
                requestId: requestId,
                modelId: MODEL_ID,
                inputHash: keccak256(input),
                requester: consumer,
                fee: uint96(coordinator.estimateFee(MODEL_ID, callbackGas)),
                deadline: uint64(block.timestamp) + TIMEOUT,
                callbackGasLimit: callbackGas,
                maxOutputBytes: MAX_OUTPUT
            });
    }

    // ─── SibylConsumer ─────────────────────────────────────────────────────────────────────────────

    function test_consumer_onlyTheCoordinatorDelivers() public {
        vm.expectRevert(abi.encodeWithSelector(SibylConsumer.SibylConsumer__OnlyCoordinator.selector, alice));
        vm.prank(alice);
        board.onSibylResult(1, ResultStatus.Ok, "forged answer");
    }

    // ─── PromptBoard ───────────────────────────────────────────────────────────────────────────────

    function test_promptBoard_askPaysTheFeeRefundsTheRestAndStoresTheAnswer() public {
        uint256 fee = board.askFee();
        uint256 before = alice.balance;
        vm.prank(alice);
        uint256 requestId = board.ask{value: fee + 1 ether}("What is the capital of France?");
        assertEq(alice.balance, before - fee, "only the fee spent");
        assertEq(address(board).balance, 0, "board keeps nothing");

        RequestCommitment memory commitment = _commitmentFor(
            requestId,
            address(board),
            "What is the capital of France?",
            300_000
        );
        _fulfill(_single(_fulfillment(commitment, "Paris")));
        PromptBoard.Entry memory entry = board.entryOf(requestId);
        assertEq(entry.asker, alice, "asker");
        assertTrue(entry.answered, "answered");
        assertTrue(entry.status == ResultStatus.Ok, "ok");
        assertEq(entry.answer, "Paris", "answer stored");
    }

    function test_promptBoard_refundOfACancelledQuestionPaysTheNextOne() public {
        uint256 fee = board.askFee();
        vm.prank(alice);
        uint256 requestId = board.ask{value: fee}("unanswered");
        RequestCommitment memory commitment = _commitmentFor(
            requestId,
            address(board),
            "unanswered",
            300_000
        );
        vm.warp(commitment.deadline + 1);
        coordinator.cancel(commitment);
        uint256 before = bob.balance;
        vm.prank(bob);
        board.ask{value: 1 ether}("next");
        assertEq(before - bob.balance, 0, "the refund covered the fee; the rest came back");
        assertEq(coordinator.balanceOf(address(board)), 0, "nothing stranded");
        assertEq(address(board).balance, 0, "board keeps nothing");
    }

    function test_consumer_acceptsEtherOnlyFromTheCoordinator() public {
        vm.prank(alice);
        (bool success, ) = address(board).call{value: 1}("");
        assertTrue(!success, "stray ether refused");
    }

    function test_promptBoard_underpaid() public {
        uint256 fee = board.askFee();
        vm.expectRevert(
            abi.encodeWithSelector(PromptBoard.PromptBoard__PaymentTooLow.selector, fee - 1, fee)
        );
        vm.prank(alice);
        board.ask{value: fee - 1}("hi");
    }

    // ─── YesNoMarket ───────────────────────────────────────────────────────────────────────────────

    function _openMarketWithBets() internal returns (uint256 marketId) {
        marketId = market.create("Will it rain in Paris tomorrow?", uint64(block.timestamp + 1 days));
        vm.prank(alice);
        market.bet{value: 1 ether}(marketId, true);
        vm.prank(bob);
        market.bet{value: 3 ether}(marketId, false);
        vm.prank(carol);
        market.bet{value: 1 ether}(marketId, true);
    }

    function _resolveWith(uint256 marketId, ResultStatus status, bytes memory answer) internal {
        vm.warp(block.timestamp + 1 days);
        uint256 fee = market.resolveFee();
        vm.prank(carol);
        uint256 requestId = market.resolve{value: fee}(marketId);
        bytes memory question = bytes(market.marketOf(marketId).question);
        Fulfillment memory fulfillment = _fulfillment(
            _commitmentFor(requestId, address(market), question, market.CALLBACK_GAS_LIMIT()),
            answer
        );
        fulfillment.status = uint8(status);
        _fulfill(_single(fulfillment));
    }

    function test_market_resolvesYesAndPaysWinnersProRata() public {
        uint256 marketId = _openMarketWithBets();
        _resolveWith(marketId, ResultStatus.Ok, " Yes.\n");
        assertTrue(market.marketOf(marketId).phase == YesNoMarket.Phase.Resolved, "resolved");
        assertTrue(market.marketOf(marketId).outcome, "yes");

        uint256 aliceBefore = alice.balance;
        vm.prank(alice);
        market.claim(marketId);
        assertEq(alice.balance - aliceBefore, 2.5 ether, "1 of 2 yes-ether gets half of 5");
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

    function test_market_unclearAnswerOrErrorVoidsAndRefundsEveryone() public {
        uint256 marketId = _openMarketWithBets();
        _resolveWith(marketId, ResultStatus.Ok, "maybe");
        assertTrue(market.marketOf(marketId).phase == YesNoMarket.Phase.Voided, "voided");
        uint256 bobBefore = bob.balance;
        vm.prank(bob);
        market.claim(marketId);
        assertEq(bob.balance - bobBefore, 3 ether, "stake back");

        uint256 second = _openMarketWithBets();
        _resolveWith(second, ResultStatus.ModelError, "rate limited");
        assertTrue(market.marketOf(second).phase == YesNoMarket.Phase.Voided, "error voids");
    }

    function test_market_bettingWindowAndPhases() public {
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__CloseInPast.selector, uint64(block.timestamp))
        );
        market.create("q", uint64(block.timestamp));
        uint256 marketId = _openMarketWithBets();
        uint64 closesAt = market.marketOf(marketId).closesAt;
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__BettingOpen.selector, marketId, closesAt)
        );
        market.resolve{value: 1 ether}(marketId);
        vm.expectRevert(abi.encodeWithSelector(YesNoMarket.YesNoMarket__ZeroBet.selector, marketId));
        market.bet(marketId, true);
        vm.warp(closesAt);
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__BettingClosed.selector, marketId, closesAt)
        );
        vm.prank(alice);
        market.bet{value: 1}(marketId, true);
        vm.expectRevert(
            abi.encodeWithSelector(
                YesNoMarket.YesNoMarket__WrongPhase.selector,
                marketId,
                YesNoMarket.Phase.Open
            )
        );
        market.claim(marketId);
        vm.expectRevert(abi.encodeWithSelector(YesNoMarket.YesNoMarket__UnknownMarket.selector, 99));
        market.claim(99);
    }

    function test_market_canRetryResolutionOnlyAfterTheRequestIsCancelled() public {
        uint256 marketId = _openMarketWithBets();
        vm.warp(block.timestamp + 1 days);
        uint256 fee = market.resolveFee();
        uint256 requestId = market.resolve{value: fee}(marketId);
        vm.expectRevert(
            abi.encodeWithSelector(YesNoMarket.YesNoMarket__ResolutionPending.selector, marketId, requestId)
        );
        market.resolve{value: fee}(marketId);

        RequestCommitment memory commitment = _commitmentFor(
            requestId,
            address(market),
            bytes(market.marketOf(marketId).question),
            market.CALLBACK_GAS_LIMIT()
        );
        vm.warp(commitment.deadline + 1);
        coordinator.cancel(commitment);
        assertEq(coordinator.balanceOf(address(market)), fee, "the cancelled fee is refunded to the market");
        uint256 before = alice.balance;
        vm.prank(alice);
        uint256 retry = market.resolve(marketId);
        assertEq(retry, requestId + 1, "new request");
        assertEq(alice.balance, before, "the refund paid for the retry");
        assertEq(coordinator.balanceOf(address(market)), 0, "nothing left stranded");
        assertEq(address(market).balance, 5 ether, "only the pools remain");
    }

    function test_market_parseYesNo() public view {
        (bool known, bool yes) = market.parseYesNo("YES");
        assertTrue(known && yes, "YES");
        (known, yes) = market.parseYesNo("  no. ");
        assertTrue(known && !yes, "no.");
        (known, ) = market.parseYesNo("yes, probably");
        assertTrue(!known, "hedged");
        (known, ) = market.parseYesNo("");
        assertTrue(!known, "empty");
    }
}
