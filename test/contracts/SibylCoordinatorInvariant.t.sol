// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CoordinatorFixture} from "./utils/CoordinatorFixture.sol";
import {CoordinatorHandler} from "./utils/CoordinatorHandler.sol";

/// @dev The invariant runner's shape for targetSelectors().
struct FuzzSelector {
    address addr;
    bytes4[] selectors;
}

contract SibylCoordinatorInvariantTest is CoordinatorFixture {
    CoordinatorHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new CoordinatorHandler(log, ledger, coordinator, operator);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @dev Only the handler's actions: its many getters would otherwise take most of each run's calls.
    /// burst is left out (512 requests a call would make the runs take minutes); the handler test
    /// below drives it and checks the invariants after it.
    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory actions = new bytes4[](16);
        actions[0] = CoordinatorHandler.request.selector;
        actions[1] = CoordinatorHandler.fulfill.selector;
        actions[2] = CoordinatorHandler.deliver.selector;
        actions[3] = CoordinatorHandler.prove.selector;
        actions[4] = CoordinatorHandler.proveForged.selector;
        actions[5] = CoordinatorHandler.fulfillForged.selector;
        actions[6] = CoordinatorHandler.reassign.selector;
        actions[7] = CoordinatorHandler.cancel.selector;
        actions[8] = CoordinatorHandler.replay.selector;
        actions[9] = CoordinatorHandler.withdraw.selector;
        actions[10] = CoordinatorHandler.warp.selector;
        actions[11] = CoordinatorHandler.gasPrice.selector;
        actions[12] = CoordinatorHandler.takeOver.selector;
        actions[13] = CoordinatorHandler.slashTaker.selector;
        actions[14] = CoordinatorHandler.withdrawTakerStake.selector;
        actions[15] = CoordinatorHandler.impostor.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector({addr: address(handler), selectors: actions});
    }

    function _stakes() internal view returns (uint256) {
        return ledger.operatorOf(operator).stake + ledger.operatorOf(handler.TAKER()).stake;
    }

    /// @dev Across the contracts together: the coordinator holds what it owes, the ledger what it
    /// holds for operators and what it burned, the log nothing.
    function invariant_etherIsConserved() public view {
        assertEq(
            address(coordinator).balance,
            handler.heldByAccounts() + handler.pendingEscrows(),
            "coordinator = credited balances + pending escrows"
        );
        assertEq(address(ledger).balance, _stakes() + ledger.burned(), "ledger = stakes + burned");
        assertEq(address(log).balance, 0, "the log holds no ether");
    }

    /// @dev Every wei ever staked is still staked, was withdrawn, was slashed out to a reporter, or
    /// was burned by a liveness penalty.
    function invariant_stakeIsAccountedAtEveryStep() public view {
        assertEq(
            handler.staked(),
            _stakes() + handler.stakeWithdrawn() + handler.slashedOut() + ledger.burned(),
            "staked = stakes + withdrawn + slashed out + burned"
        );
        assertTrue(!handler.stakeBooksBroken(), "a slash or withdrawal moved other than it reported");
    }

    /// @dev Only an authorized coordinator appends and penalizes; the root and the sequence are
    /// checked against the handler's books by the invariants below.
    function invariant_onlyAuthorizedCoordinatorsMoveTheLogOrPenalize() public view {
        assertTrue(!handler.impostorSucceeded(), "an unauthorized account appended or penalized");
    }

    function invariant_proveNeverMovesMoney() public view {
        assertTrue(!handler.proveMovedMoney(), "a prove credited, charged or sent something");
        assertEq(coordinator.balanceOf(handler.STRANGER()), 0, "the stranger only proves: never credited");
    }

    function invariant_anAssigneeCannotRenewItsOwnWindow() public view {
        assertTrue(
            !handler.reassignBroken(),
            "an assignee's own takeover went through or changed the request"
        );
    }

    function invariant_lateAssigneePaysAPenaltyThatIsBurned() public view {
        assertTrue(
            !handler.penaltyBroken(),
            "a takeover's penalty was not taken once, or not burned, or paid"
        );
    }

    function invariant_chargesAreCappedAndPaidToTheDeliverer() public view {
        assertTrue(!handler.chargesMismatch(), "a charge above its escrow or not paid to the operator");
    }

    function invariant_eachRequestIsAnsweredAtMostOnce() public view {
        assertTrue(!handler.answeredTwice(), "a request was fulfilled, delivered or cancelled twice");
    }

    function invariant_rootOnlyMovesByAVerifiedProof() public view {
        assertEq(log.root(), handler.expectedRoot(), "root");
    }

    function invariant_nextIndexOnlyGrows() public view {
        assertTrue(!handler.nextIndexShrank(), "next index shrank");
    }

    function invariant_pendingQueueIsTheChainOfTheUnprovenLeaves() public view {
        (uint256 proven, uint256 delivered, bytes32 head, bytes32 tail) = log.pendingLog();
        assertEq(proven, handler.expectedProven(), "proven");
        assertEq(delivered, handler.expectedDelivered(), "delivered");
        assertTrue(delivered - proven <= log.MAX_PENDING_LEAVES(), "bounded");
        assertEq(head, handler.expectedHead(), "head");
        assertEq(tail, handler.expectedTail(), "tail");
        assertTrue(!handler.sequenceMismatch(), "results numbered in delivery order");
    }

    function invariant_backPressureRefusesAndLosesNothing() public view {
        assertTrue(!handler.backPressureBroken(), "a delivery past the bound went through or lost requests");
    }

    /// @dev The handler's own paths work, so the invariants above are not checked against idle runs.
    function test_handler_deliversReassignsProvesAndFulfils() public {
        handler.deliver(3, 0);
        handler.deliver(2, 1);
        uint256 earned = coordinator.balanceOf(operator);
        assertGe(earned, 1, "deliveries paid the operator");
        handler.prove(0, 4);
        assertEq(handler.provenResults(), 1, "a stranger proved the first delivery");
        assertEq(coordinator.balanceOf(operator), earned, "and nobody was paid for it");
        handler.request(1, 2, 0, 0);
        handler.reassign(0);
        assertEq(handler.reassignments(), 1, "the operator's takeover of its own request was refused");
        handler.fulfill(1, 0);
        assertEq(handler.expectedProven(), handler.expectedDelivered(), "fulfil proved what was left first");
        handler.takeOver(0);
        assertEq(handler.takeovers(), 1, "another operator took a late request over and delivered it");
        assertEq(
            ledger.operatorOf(operator).stake,
            MIN_STAKE - LIVENESS_PENALTY,
            "the late operator paid the penalty"
        );
        handler.replay(0, 2);
        handler.replay(0, 3);
        assertTrue(!handler.answeredTwice(), "a replayed delivery or reassignment is refused");
        invariant_etherIsConserved();
        invariant_proveNeverMovesMoney();
        invariant_anAssigneeCannotRenewItsOwnWindow();
        invariant_lateAssigneePaysAPenaltyThatIsBurned();
        invariant_pendingQueueIsTheChainOfTheUnprovenLeaves();
        invariant_stakeIsAccountedAtEveryStep();
    }

    /// @dev The stake paths and the impostor work, so their invariants are not checked against idle runs.
    function test_handler_slashesWithdrawsAndRefusesImpostors() public {
        handler.takeOver(0);
        handler.slashTaker();
        assertEq(handler.slashedOut(), MIN_STAKE / 2, "half of TAKER's stake to the reporter");
        assertEq(handler.REPORTER().balance, MIN_STAKE / 2, "paid in ether by the ledger");
        handler.withdrawTakerStake();
        assertEq(handler.stakeWithdrawn(), MIN_STAKE / 2, "the rest withdrawn");
        handler.takeOver(1);
        assertEq(handler.takeovers(), 2, "TAKER staked again and took another over");
        uint256 root = log.root();
        (, uint256 delivered, , ) = log.pendingLog();
        handler.impostor(3);
        assertEq(handler.impostorAttempts(), 3, "appendDelivered, appendProven, penalize tried");
        assertTrue(!handler.impostorSucceeded(), "all refused");
        assertEq(log.root(), root, "root unmoved");
        (, uint256 deliveredAfter, , ) = log.pendingLog();
        assertEq(deliveredAfter, delivered, "sequence unmoved");
        invariant_etherIsConserved();
        invariant_stakeIsAccountedAtEveryStep();
        invariant_lateAssigneePaysAPenaltyThatIsBurned();
    }

    function test_handler_burstFillsTheQueueAndIsRefusedPastItsBound() public {
        handler.deliver(0, 0);
        handler.burst(0);
        assertEq(handler.refusals(), 1, "the last delivery refused");
        (uint256 proven, uint256 delivered, , ) = log.pendingLog();
        assertEq(delivered - proven, 1 + 7 * 64, "within one delivery of the bound");
        handler.prove(0, 3);
        handler.burst(1);
        assertEq(handler.refusals(), 2, "refused again once full");
        invariant_backPressureRefusesAndLosesNothing();
        invariant_pendingQueueIsTheChainOfTheUnprovenLeaves();
        invariant_etherIsConserved();
    }

    /// @dev Each run must have exercised the coordinator, or the invariants above proved nothing.
    function afterInvariant() public view {
        assertGe(
            handler.answered() + handler.cancellations(),
            1,
            "requests answered or cancelled in the run"
        );
        assertEq(
            log.nextIndex() == 0 ? 0 : 1,
            handler.provenResults() == 0 ? 0 : 1,
            "proven results moved the log"
        );
    }
}
