// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IOperatorLedger} from "../../contracts/interfaces/IOperatorLedger.sol";
import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {Fulfillment, OperatorParameters, RequestCommitment} from "../../contracts/interfaces/SibylTypes.sol";
import {PendingLogFixture} from "./utils/PendingLogFixture.sol";
import {Vm} from "./utils/Vm.sol";

/// @notice An assignee that lets its exclusive window pass pays the liveness penalty, which the ledger
/// burns: it is paid to nobody, since whoever could collect it (the deliverer, the refundTo) could
/// cause it (issue 20). Each test is an attempt to dodge the penalty, to collect it, or to make ether
/// appear or vanish; every step checks that the coordinator holds exactly the pending escrows and the
/// credited balances, and the ledger exactly the stakes and what it burned.
contract SibylCoordinatorLivenessTest is PendingLogFixture {
    address internal third = address(0x0C0C);
    address internal fourth = address(0x0D0D);
    address internal refundee = address(0xFEED);
    /// @dev Every request asked here, to sum the escrows still pending.
    RequestCommitment[] internal asked;
    /// @dev Penalties taken, by this test's own books: all burned.
    uint256 internal burnt;
    /// @dev OperatorDeactivated events seen by _takeOver.
    uint256 internal deactivations;

    function setUp() public override {
        super.setUp();
        _registerOperator(second);
        _registerOperator(third);
        _registerOperator(fourth);
    }

    /// @dev Asks until a request is assigned to `assignee`, refunds to `refundee`.
    function _ask(address assignee) internal returns (RequestCommitment memory commitment) {
        for (uint256 i; i < 64; ++i) {
            commitment = _requestWith(
                requester,
                abi.encodePacked("question ", asked.length),
                0,
                _escrowNow(0),
                refundee
            );
            asked.push(commitment);
            if (commitment.operator == assignee) return commitment;
        }
        revert AssertionFailed("never assigned to the operator");
    }

    /// @dev `taker` takes `old` over; returns the commitment from RequestReassigned and the penalty its
    /// OperatorPenalized reports (checking it names the late assignee), and books the penalty as burned.
    function _takeOver(
        address taker,
        RequestCommitment memory old
    ) internal returns (RequestCommitment memory taken, uint256 penalty) {
        RequestCommitment[] memory list = new RequestCommitment[](1);
        list[0] = old;
        uint256 takerBalance = coordinator.balanceOf(taker);
        vm.recordLogs();
        vm.prank(taker);
        coordinator.reassign(list);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bool penalized;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == ISibylCoordinator.RequestReassigned.selector) {
                taken = abi.decode(logs[i].data, (RequestCommitment));
            } else if (logs[i].topics[0] == IOperatorLedger.OperatorPenalized.selector) {
                assertEq(
                    address(uint160(uint256(logs[i].topics[1]))),
                    old.operator,
                    "the late assignee pays"
                );
                assertEq(uint256(logs[i].topics[2]), old.requestId, "for this request");
                penalty = abi.decode(logs[i].data, (uint256));
                penalized = true;
            } else if (logs[i].topics[0] == IOperatorLedger.OperatorDeactivated.selector) {
                assertEq(
                    address(uint160(uint256(logs[i].topics[1]))),
                    old.operator,
                    "deactivated: the late one"
                );
                assertEq(
                    abi.decode(logs[i].data, (uint256)),
                    ledger.operatorOf(old.operator).unlockAt,
                    "deactivated: until its unlock"
                );
                ++deactivations;
            }
        }
        assertTrue(penalized, "OperatorPenalized emitted");
        assertEq(taken.operator, taker, "taken over");
        burnt += penalty;
        assertEq(coordinator.balanceOf(taker), takerBalance, "a takeover pays the taker nothing");
        _assertEtherConserved();
    }

    /// @dev Delivers `commitment` as its assignee; returns the fee charged.
    function _deliverTaken(RequestCommitment memory commitment) internal returns (uint256 fee) {
        vm.recordLogs();
        _deliverAs(_single(_fulfillment(commitment, "answer")), commitment.operator);
        fee = _feeOf(_delivered(vm.getRecordedLogs()), commitment.requestId);
    }

    function _stake(address who) internal view returns (uint256) {
        return ledger.operatorOf(who).stake;
    }

    /// @dev The coordinator's ether = pending escrows + credited balances; the ledger's = stakes + burned,
    /// and burned is exactly the penalties taken.
    function _assertEtherConserved() internal view {
        uint256 escrows;
        for (uint256 i; i < asked.length; ++i) {
            if (coordinator.commitmentOf(asked[i].requestId) != 0) escrows += asked[i].escrow;
        }
        address[6] memory accounts = [operator, second, third, fourth, requester, refundee];
        uint256 credited;
        uint256 stakes;
        for (uint256 i; i < accounts.length; ++i) {
            credited += coordinator.balanceOf(accounts[i]);
            stakes += _stake(accounts[i]);
        }
        assertEq(address(coordinator).balance, escrows + credited, "coordinator: escrows and balances");
        assertEq(address(ledger).balance, stakes + burnt, "ledger: stakes and burned penalties");
        assertEq(ledger.burned(), burnt, "burned: every penalty taken, nothing else");
    }

    function test_reassign_takesThePenaltyFromTheLateAssigneeAndBurnsIt() public {
        RequestCommitment memory old = _ask(operator);
        vm.warp(old.exclusiveUntil + 1);
        (RequestCommitment memory taken, uint256 penalty) = _takeOver(second, old);
        assertEq(penalty, LIVENESS_PENALTY, "one penalty");
        assertEq(_stake(operator), MIN_STAKE - LIVENESS_PENALTY, "taken from the late assignee's stake");
        assertEq(ledger.burned(), LIVENESS_PENALTY, "burned in the ledger");
        assertEq(coordinator.commitmentOf(old.requestId), keccak256(abi.encode(taken)), "the new commitment");

        uint256 fee = _deliverTaken(taken);
        assertEq(coordinator.balanceOf(second), fee, "the deliverer: its fee, no penalty");
        assertEq(coordinator.balanceOf(refundee), old.escrow - fee, "the refundTo: the rest, no penalty");
        assertEq(ledger.burned(), LIVENESS_PENALTY, "still burned: delivering releases nothing");
        assertEq(coordinator.balanceOf(operator), 0, "the late assignee: nothing back");
        _assertEtherConserved();
    }

    /// @dev Penalty farming, route (a): an escrow exactly at request()'s floor. While the base fee
    /// stays, it pays for its delivery, nodes serve it (their tip from the fee), and an assignee that
    /// lets it pass pays the penalty. Once the base fee rose past what it pays, a node may leave it
    /// waiting rather than deliver at a loss, and its takeover costs the assignee nothing: a requester
    /// cannot make an assignee late by escrowing too little.
    function test_reassign_ofARequestNoLongerPaidAtTodaysBaseFeeCostsNoPenalty() public {
        vm.fee(10 gwei);
        RequestCommitment memory stale = _requestWith(requester, "floor", 0, _escrowNow(0), refundee);
        asked.push(stale);
        RequestCommitment memory paid = _requestWith(requester, "floor too", 0, _escrowNow(0), refundee);
        asked.push(paid);

        vm.warp(paid.exclusiveUntil + 1);
        address taker = paid.operator == second ? third : second;
        (, uint256 penalty) = _takeOver(taker, paid);
        assertEq(penalty, LIVENESS_PENALTY, "at the same base fee: the assignee's to serve");

        vm.fee(12 gwei);
        uint256 stakeBefore = _stake(stale.operator);
        uint256 burnedBefore = ledger.burned();
        RequestCommitment[] memory list = new RequestCommitment[](1);
        list[0] = stale;
        vm.recordLogs();
        vm.prank(stale.operator == second ? third : second);
        coordinator.reassign(list);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            assertTrue(logs[i].topics[0] != IOperatorLedger.OperatorPenalized.selector, "no penalty");
        }
        assertEq(_stake(stale.operator), stakeBefore, "the assignee's stake untouched");
        assertEq(ledger.burned(), burnedBefore, "nothing more burned");
    }

    function test_fulfil_byAnotherOperatorAfterTheWindowBurnsThePenaltyToo() public {
        RequestCommitment memory old = _ask(operator);
        RequestCommitment memory ownLate = _ask(operator);
        vm.warp(ownLate.exclusiveUntil + 1);
        vm.recordLogs();
        _fulfillAs(_single(_fulfillment(old, "answer")), third);
        uint256 fee = _feeOf(_delivered(vm.getRecordedLogs()), old.requestId);
        assertEq(coordinator.balanceOf(third), fee, "the late fulfiller: its fee alone");
        assertEq(_stake(operator), MIN_STAKE - LIVENESS_PENALTY, "paid by the late assignee");
        burnt += LIVENESS_PENALTY;
        _assertEtherConserved();

        // Late but its own: nobody else did the work, so no penalty.
        _deliver(_single(_fulfillment(ownLate, "answer")));
        assertEq(_stake(operator), MIN_STAKE - LIVENESS_PENALTY, "no penalty for delivering its own late");
        _assertEtherConserved();
    }

    /// @dev A front-runner copies a reassign to take the request first: it gets the work, never the
    /// penalty, and pays its own if it lets the request lapse too.
    function test_reassign_copiedByAFrontRunnerPaysItOnlyIfItDelivers() public {
        RequestCommitment memory old = _ask(operator);
        vm.warp(old.exclusiveUntil + 1);
        (RequestCommitment memory copied, ) = _takeOver(third, old);
        RequestCommitment[] memory original = new RequestCommitment[](1);
        original[0] = old;
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.CommitmentMismatch.selector, old.requestId));
        vm.prank(second);
        coordinator.reassign(original);
        assertEq(coordinator.balanceOf(third), 0, "the copy alone gained the copier nothing");

        uint256 snapshot = vm.snapshotState();
        uint256 fee = _deliverTaken(copied);
        assertEq(coordinator.balanceOf(third), fee, "it delivered: its fee alone");
        assertEq(ledger.burned(), LIVENESS_PENALTY, "the penalty stays burned");
        vm.revertToState(snapshot);

        vm.warp(copied.exclusiveUntil + 1);
        (RequestCommitment memory retaken, ) = _takeOver(second, copied);
        fee = _deliverTaken(retaken);
        assertEq(coordinator.balanceOf(third), 0, "it did not deliver: nothing");
        assertEq(_stake(third), MIN_STAKE - LIVENESS_PENALTY, "and it paid for lapsing");
        assertEq(coordinator.balanceOf(second), fee, "the deliverer: its fee alone");
        assertEq(ledger.burned(), 2 * LIVENESS_PENALTY, "both penalties burned");
        _assertEtherConserved();
    }

    function test_reassign_chainedTakeoversBurnEachPenalty() public {
        RequestCommitment memory current = _ask(operator);
        address[3] memory takers = [second, third, fourth];
        for (uint256 i; i < takers.length; ++i) {
            vm.warp(current.exclusiveUntil + 1);
            (current, ) = _takeOver(takers[i], current);
            assertEq(
                coordinator.commitmentOf(current.requestId),
                keccak256(abi.encode(current)),
                "the latest commitment at each step"
            );
        }
        assertEq(ledger.burned(), 3 * LIVENESS_PENALTY, "three late assignees, three penalties burned");
        uint256 fee = _deliverTaken(current);
        assertEq(coordinator.balanceOf(fourth), fee, "the deliverer: its fee alone");
        assertEq(_stake(operator), MIN_STAKE - LIVENESS_PENALTY, "the first paid once");
        assertEq(_stake(second), MIN_STAKE - LIVENESS_PENALTY, "the second paid once");
        assertEq(_stake(third), MIN_STAKE - LIVENESS_PENALTY, "the third paid once");
        _assertEtherConserved();
    }

    /// @dev Nobody delivered: refundTo gets its escrow back, and the penalties stay burned (a requester
    /// could otherwise collect penalties by asking for what no operator can answer in time).
    function test_cancel_afterTheDeadlineRefundsTheEscrowAndThePenaltiesStayBurned() public {
        RequestCommitment memory old = _ask(operator);
        vm.warp(old.exclusiveUntil + 1);
        (RequestCommitment memory taken, ) = _takeOver(second, old);
        vm.warp(taken.exclusiveUntil + 1);
        (taken, ) = _takeOver(third, taken);
        vm.warp(old.deadline + 1);
        coordinator.cancel(taken);
        assertEq(coordinator.balanceOf(refundee), old.escrow, "the escrow, no penalty");
        assertEq(ledger.burned(), 2 * LIVENESS_PENALTY, "both penalties burned");
        assertEq(coordinator.balanceOf(requester), 0, "to refundTo, not the requester");
        assertEq(coordinator.balanceOf(second) + coordinator.balanceOf(third), 0, "no assignee paid");
        _assertEtherConserved();
    }

    /// @dev Exiting after being assigned does not take the stake out of the penalty's reach.
    function test_reassign_lateAssigneeThatExitedStillPays() public {
        RequestCommitment memory old = _ask(operator);
        vm.prank(operator);
        ledger.requestOperatorExit();
        vm.warp(old.exclusiveUntil + 1);
        _takeOver(second, old);
        assertEq(_stake(operator), MIN_STAKE - LIVENESS_PENALTY, "taken from the unbonding stake");
    }

    /// @dev Penalty 0.4 of a 1.0 stake: 0.6 left keeps its place, 0.2 left cannot pay the next one and
    /// loses it, then the penalty takes what is left and finally nothing, never more than the stake.
    function test_penalty_stakeBelowOnePenaltyDeactivatesAndNothingBeyondTheStakeIsTaken() public {
        uint128 penalty = 0.4 ether;
        OperatorParameters memory parameters = _operatorParameters();
        parameters.livenessPenalty = penalty;
        ledger.setOperatorParameters(parameters);
        RequestCommitment[4] memory late;
        for (uint256 i; i < late.length; ++i) late[i] = _ask(operator);
        vm.warp(late[3].exclusiveUntil + 1);

        uint256[4] memory expected = [uint256(penalty), penalty, MIN_STAKE - 2 * penalty, 0];
        RequestCommitment[4] memory taken;
        for (uint256 i; i < late.length; ++i) {
            uint256 stakeBefore = _stake(operator);
            uint256 got;
            (taken[i], got) = _takeOver(second, late[i]);
            assertEq(got, expected[i], "taken: the penalty or what is left");
            assertEq(_stake(operator), stakeBefore - got, "from the stake");
            assertEq(deactivations, i == 0 ? 0 : 1, "OperatorDeactivated once, when it fell below a penalty");
            assertTrue(ledger.operatorOf(operator).active == (i == 0), "active only while it can pay");
        }
        assertEq(ledger.activeOperators().length, 3, "out of the active set");

        uint256 fees;
        for (uint256 i; i < taken.length; ++i) fees += _deliverTaken(taken[i]);
        assertEq(coordinator.balanceOf(second), fees, "the deliverer: its fees alone");
        assertEq(ledger.burned(), MIN_STAKE, "the whole stake burned");
        _assertEtherConserved();
    }

    function test_penalty_stakeOfExactlyOnePenaltyKeepsItsPlace() public {
        OperatorParameters memory parameters = _operatorParameters();
        parameters.livenessPenalty = MIN_STAKE / 2;
        ledger.setOperatorParameters(parameters);
        RequestCommitment memory old = _ask(operator);
        vm.warp(old.exclusiveUntil + 1);
        _takeOver(second, old);
        assertEq(_stake(operator), MIN_STAKE / 2, "half left: one more penalty's worth");
        assertTrue(ledger.operatorOf(operator).active, "it can still pay the next: it stays");
    }

    /// @dev A late fulfilment after a takeover that lapsed too: two penalties burned, none to the fulfiller.
    function test_fulfil_afterAReassignBurnsBothPenalties() public {
        RequestCommitment memory old = _ask(operator);
        vm.warp(old.exclusiveUntil + 1);
        (RequestCommitment memory taken, ) = _takeOver(second, old);
        vm.warp(taken.exclusiveUntil + 1);
        vm.recordLogs();
        Fulfillment[] memory batch = _single(_fulfillment(taken, "answer"));
        _fulfillAs(batch, fourth);
        uint256 fee = _feeOf(_delivered(vm.getRecordedLogs()), old.requestId);
        burnt += LIVENESS_PENALTY;
        assertEq(coordinator.balanceOf(fourth), fee, "the fulfiller: its fee alone");
        assertEq(ledger.burned(), 2 * LIVENESS_PENALTY, "both late assignees' penalties burned");
        assertEq(_stake(second), MIN_STAKE - LIVENESS_PENALTY, "the taker that lapsed paid too");
        _assertEtherConserved();
    }
}
