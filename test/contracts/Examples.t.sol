// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SibylCoordinator} from "../../contracts/SibylCoordinator.sol";
import {SibylConsumer} from "../../contracts/consumer/SibylConsumer.sol";
import {PromptBoard} from "../../contracts/examples/PromptBoard.sol";
import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {CallbackOutcome, RequestCommitment, ResultStatus} from "../../contracts/interfaces/SibylTypes.sol";
import {ExamplesFixture} from "./utils/ExamplesFixture.sol";

/// @notice SibylConsumer and PromptBoard; YesNoMarket has its own file.
contract ExamplesTest is ExamplesFixture {
    uint32 internal constant BOARD_CALLBACK_GAS = 300_000;

    PromptBoard internal board;

    function setUp() public override {
        super.setUp();
        board = new PromptBoard(log, MODEL_ID, BOARD_CALLBACK_GAS);
    }

    function _ask(
        address asker,
        bytes memory question,
        uint256 escrow
    ) internal returns (RequestCommitment memory) {
        _recordRequest();
        vm.prank(asker);
        board.ask{value: escrow}(string(question));
        return _requestedCommitment();
    }

    // ─── SibylConsumer ─────────────────────────────────────────────────────────────────────────────

    function test_consumer_onlyTheCoordinatorDelivers() public {
        vm.expectRevert(abi.encodeWithSelector(SibylConsumer.SibylConsumer__OnlyCoordinator.selector, alice));
        vm.prank(alice);
        board.onSibylResult(1, ResultStatus.Ok, "forged answer");
    }

    function test_consumer_acceptsEtherOnlyFromTheCoordinator() public {
        vm.prank(alice);
        (bool success, ) = address(board).call{value: 1}("");
        assertTrue(!success, "stray ether refused");
    }

    /// @dev Results come only from coordinators the log lets append; ether (withdrawn refunds) also from
    /// a revoked one, which still holds what it owes the consumer.
    function test_consumer_refusesResultsFromARevokedOrUnauthorizedCoordinator() public {
        address retired = address(coordinator);
        SibylCoordinator successor = _newCoordinator(coordinator.nextRequestId());
        SibylCoordinator unauthorized = _newCoordinator(coordinator.nextRequestId() + 100);
        log.authorizeCoordinator(address(successor));
        vm.prank(retired);
        board.onSibylResult(1, ResultStatus.Ok, "a retired coordinator still delivers what it took");
        log.revokeCoordinator(retired);
        vm.expectRevert(
            abi.encodeWithSelector(SibylConsumer.SibylConsumer__OnlyCoordinator.selector, retired)
        );
        vm.prank(retired);
        board.onSibylResult(2, ResultStatus.Ok, "revoked");
        vm.expectRevert(
            abi.encodeWithSelector(
                SibylConsumer.SibylConsumer__OnlyCoordinator.selector,
                address(unauthorized)
            )
        );
        vm.prank(address(unauthorized));
        board.onSibylResult(3, ResultStatus.Ok, "never authorized");

        vm.deal(retired, 1);
        vm.prank(retired);
        (bool refundAccepted, ) = address(board).call{value: 1}("");
        assertTrue(refundAccepted, "a revoked coordinator's withdrawal still reaches the consumer");
        vm.deal(address(unauthorized), 1);
        vm.prank(address(unauthorized));
        (bool strayAccepted, ) = address(board).call{value: 1}("");
        assertTrue(!strayAccepted, "a never-authorized one's ether is refused");
        assertEq(address(board.sibylCoordinator()), address(successor), "the board asks the successor");
    }

    // ─── PromptBoard ───────────────────────────────────────────────────────────────────────────────

    function test_ask_escrowsEverythingStoresTheAnswerAndCreditsTheRestToTheAsker() public {
        uint256 escrow = board.askFee(block.basefee) + 1 ether;
        uint256 before = alice.balance;
        RequestCommitment memory commitment = _ask(alice, "What is the capital of France?", escrow);
        assertEq(alice.balance, before - escrow, "all of msg.value is escrow");
        assertEq(commitment.refundTo, alice, "refunds go to the asker");
        assertEq(commitment.escrow, escrow, "escrow");
        assertEq(address(board).balance, 0, "board keeps nothing");

        (CallbackOutcome callback, uint256 fee) = _deliver(commitment, ResultStatus.Ok, "Paris");
        assertTrue(callback == CallbackOutcome.Succeeded, "callback succeeded");
        assertGe(fee, MODEL_FEE, "the model fee was charged");
        assertEq(coordinator.balanceOf(alice), escrow - fee, "the rest is the asker's");
        assertEq(coordinator.balanceOf(address(board)), 0, "nothing pools in the board");
        PromptBoard.Entry memory entry = board.entryOf(commitment.requestId);
        assertEq(entry.asker, alice, "asker");
        assertTrue(entry.answered, "answered");
        assertTrue(entry.status == ResultStatus.Ok, "ok");
        assertEq(entry.answer, "Paris", "answer stored");

        vm.prank(alice);
        coordinator.withdraw();
        assertEq(alice.balance, before - fee, "the asker paid only the fee");
    }

    function test_ask_cancelledQuestionRefundsTheAskerNotWhoeverCancels() public {
        uint256 escrow = board.askFee(block.basefee);
        RequestCommitment memory commitment = _ask(alice, "unanswered", escrow);
        _cancelAs(stranger, commitment);
        assertEq(coordinator.balanceOf(alice), escrow, "the asker gets the whole escrow");
        assertEq(coordinator.balanceOf(stranger), 0, "the canceller gets nothing");
        assertEq(coordinator.balanceOf(address(board)), 0, "nothing pools in the board");
        assertTrue(!board.entryOf(commitment.requestId).answered, "never answered");

        // Nothing of alice's refund is spent on the next question.
        uint256 next = board.askFee(block.basefee);
        _ask(bob, "next", next);
        assertEq(coordinator.balanceOf(alice), escrow, "alice's refund untouched");
        uint256 before = alice.balance;
        vm.prank(alice);
        coordinator.withdraw();
        assertEq(alice.balance - before, escrow, "withdrawn in full");
    }

    function test_ask_failedCallbackLeavesTheEntryUnansweredAndCreditsTheRest() public {
        PromptBoard stingy = new PromptBoard(log, MODEL_ID, 30_000);
        uint256 escrow = stingy.askFee(block.basefee);
        _recordRequest();
        vm.prank(alice);
        stingy.ask{value: escrow}("long answer please");
        RequestCommitment memory commitment = _requestedCommitment();
        (CallbackOutcome callback, uint256 fee) = _deliver(
            commitment,
            ResultStatus.Ok,
            new bytes(MAX_OUTPUT)
        );
        assertTrue(callback == CallbackOutcome.Failed, "30k gas cannot store 2 KB");
        assertTrue(!stingy.entryOf(commitment.requestId).answered, "entry unanswered");
        assertEq(coordinator.balanceOf(alice), escrow - fee, "the rest is the asker's");
        assertEq(coordinator.commitmentOf(commitment.requestId), bytes32(0), "not deliverable again");
    }

    function test_ask_underpaidIsRefusedByTheCoordinator() public {
        uint256 fee = board.askFee(block.basefee);
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.InsufficientPayment.selector, fee - 1, fee));
        vm.prank(alice);
        board.ask{value: fee - 1}("hi");
    }
}
