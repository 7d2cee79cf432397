// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IOperatorLedger} from "../../contracts/interfaces/IOperatorLedger.sol";
import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {Fulfillment, OperatorParameters, RequestCommitment} from "../../contracts/interfaces/SibylTypes.sol";
import {PendingLogFixture} from "./utils/PendingLogFixture.sol";
import {Vm} from "./utils/Vm.sol";

/// @notice An assignee that lets its exclusive window pass pays the liveness penalty, held for
/// whoever delivers the request in the end (or its refundTo on cancel). Each test is an attempt to
/// dodge the penalty, to collect it without doing the work, or to make ether appear or vanish; every
/// step checks that the coordinator holds exactly the pending escrows, the held penalties, the
/// credited balances and the stakes.
contract SibylCoordinatorLivenessTest is PendingLogFixture {
    address internal third = address(0x0C0C);
    address internal fourth = address(0x0D0D);
    address internal refundee = address(0xFEED);
    /// @dev Every request asked here, to sum the escrows still pending.
    RequestCommitment[] internal asked;
    /// @dev Penalties taken and not yet paid out, by this test's own books.
    uint256 internal held;
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
    /// OperatorPenalized reports (checking it names the late assignee), and books the penalty as held.
    function _takeOver(
        address taker,
        RequestCommitment memory old
    ) internal returns (RequestCommitment memory taken, uint256 penalty) {
        RequestCommitment[] memory list = new RequestCommitment[](1);
        list[0] = old;
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
        held += penalty;
        _assertEtherConserved();
    }

    /// @dev Delivers `commitment` as its assignee; returns the fee charged. The caller books what the
    /// delivery paid out of `held`.
    function _deliverTaken(RequestCommitment memory commitment) internal returns (uint256 fee) {
        vm.recordLogs();
        _deliverAs(_single(_fulfillment(commitment, "answer")), commitment.operator);
        fee = _feeOf(_delivered(vm.getRecordedLogs()), commitment.requestId);
    }

    function _stake(address who) internal view returns (uint256) {
        return ledger.operatorOf(who).stake;
    }

    function _marked(RequestCommitment memory commitment) internal pure returns (bytes32) {
        return keccak256(abi.encode(commitment)) ^ bytes32(uint256(1));
    }

    /// @dev Ether held = pending escrows + held penalties + credited balances + stakes.
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
        assertEq(address(coordinator).balance, escrows + held + credited + stakes, "ether conserved");
    }

    function test_reassign_takesThePenaltyFromTheLateAssigneeForWhoeverDelivers() public {
        RequestCommitment memory old = _ask(operator);
        vm.warp(old.exclusiveUntil + 1);
        (RequestCommitment memory taken, uint256 penalty) = _takeOver(second, old);
        assertEq(penalty, LIVENESS_PENALTY, "one penalty");
        assertEq(_stake(operator), MIN_STAKE - LIVENESS_PENALTY, "taken from the late assignee's stake");
        assertEq(coordinator.balanceOf(second), 0, "held, not yet paid: the taker has done nothing");
        assertEq(coordinator.commitmentOf(old.requestId), _marked(taken), "the stored hash marks it held");

        uint256 fee = _deliverTaken(taken);
        held -= penalty;
        assertEq(
            coordinator.balanceOf(second),
            fee + LIVENESS_PENALTY,
            "the deliverer: its fee and the penalty"
        );
        assertEq(coordinator.balanceOf(operator), 0, "the late assignee: nothing back");
        _assertEtherConserved();
    }

    function test_fulfil_byAnotherOperatorAfterTheWindowTakesThePenaltyToo() public {
        RequestCommitment memory old = _ask(operator);
        RequestCommitment memory ownLate = _ask(operator);
        vm.warp(ownLate.exclusiveUntil + 1);
        vm.recordLogs();
        _fulfillAs(_single(_fulfillment(old, "answer")), third);
        uint256 fee = _feeOf(_delivered(vm.getRecordedLogs()), old.requestId);
        assertEq(coordinator.balanceOf(third), fee + LIVENESS_PENALTY, "the late fulfiller: fee and penalty");
        assertEq(_stake(operator), MIN_STAKE - LIVENESS_PENALTY, "paid by the late assignee");
        _assertEtherConserved();

        // Late but its own: nobody else did the work, so nobody is paid a penalty.
        _deliver(_single(_fulfillment(ownLate, "answer")));
        assertEq(_stake(operator), MIN_STAKE - LIVENESS_PENALTY, "no penalty for delivering its own late");
        _assertEtherConserved();
    }

    /// @dev A front-runner copies a reassign to take the request first: it holds the work, not the
    /// penalty, which it earns only by delivering, and pays its own if it lets the request lapse too.
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
        assertEq(coordinator.balanceOf(third), fee + LIVENESS_PENALTY, "it delivered: fee and penalty");
        vm.revertToState(snapshot);

        vm.warp(copied.exclusiveUntil + 1);
        (RequestCommitment memory retaken, ) = _takeOver(second, copied);
        fee = _deliverTaken(retaken);
        held -= 2 * LIVENESS_PENALTY;
        assertEq(coordinator.balanceOf(third), 0, "it did not deliver: nothing");
        assertEq(_stake(third), MIN_STAKE - LIVENESS_PENALTY, "and it paid for lapsing");
        assertEq(coordinator.balanceOf(second), fee + 2 * LIVENESS_PENALTY, "the deliverer: both penalties");
        _assertEtherConserved();
    }

    function test_reassign_chainedTakeoversAccumulateTheirPenalties() public {
        RequestCommitment memory current = _ask(operator);
        address[3] memory takers = [second, third, fourth];
        for (uint256 i; i < takers.length; ++i) {
            vm.warp(current.exclusiveUntil + 1);
            (current, ) = _takeOver(takers[i], current);
            assertEq(coordinator.commitmentOf(current.requestId), _marked(current), "marked at each step");
        }
        assertEq(held, 3 * LIVENESS_PENALTY, "three late assignees, three penalties");
        uint256 fee = _deliverTaken(current);
        held = 0;
        assertEq(coordinator.balanceOf(fourth), fee + 3 * LIVENESS_PENALTY, "all three to the deliverer");
        assertEq(_stake(operator), MIN_STAKE - LIVENESS_PENALTY, "the first paid once");
        assertEq(_stake(second), MIN_STAKE - LIVENESS_PENALTY, "the second paid once");
        assertEq(_stake(third), MIN_STAKE - LIVENESS_PENALTY, "the third paid once");
        _assertEtherConserved();
    }

    /// @dev Nobody delivered: the penalties compensate the requester's refundTo, not any operator.
    function test_cancel_afterTheDeadlinePaysTheHeldPenaltiesToRefundTo() public {
        RequestCommitment memory old = _ask(operator);
        vm.warp(old.exclusiveUntil + 1);
        (RequestCommitment memory taken, ) = _takeOver(second, old);
        vm.warp(taken.exclusiveUntil + 1);
        (taken, ) = _takeOver(third, taken);
        vm.warp(old.deadline + 1);
        coordinator.cancel(taken);
        held = 0;
        assertEq(
            coordinator.balanceOf(refundee),
            old.escrow + 2 * LIVENESS_PENALTY,
            "escrow and both penalties"
        );
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
        assertEq(
            coordinator.commitmentOf(late[3].requestId),
            keccak256(abi.encode(taken[3])),
            "nothing held: the hash is unmarked"
        );
        assertEq(ledger.activeOperators().length, 3, "out of the active set");

        uint256 fees;
        for (uint256 i; i < taken.length; ++i) fees += _deliverTaken(taken[i]);
        held = 0;
        assertEq(coordinator.balanceOf(second), fees + MIN_STAKE, "the whole stake, to the deliverer");
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

    /// @dev A late fulfilment after a takeover that lapsed too: the fulfiller gets both penalties.
    function test_fulfil_afterAReassignPaysBothPenaltiesToTheFulfiller() public {
        RequestCommitment memory old = _ask(operator);
        vm.warp(old.exclusiveUntil + 1);
        (RequestCommitment memory taken, ) = _takeOver(second, old);
        vm.warp(taken.exclusiveUntil + 1);
        vm.recordLogs();
        Fulfillment[] memory batch = _single(_fulfillment(taken, "answer"));
        _fulfillAs(batch, fourth);
        uint256 fee = _feeOf(_delivered(vm.getRecordedLogs()), old.requestId);
        held = 0;
        assertEq(coordinator.balanceOf(fourth), fee + 2 * LIVENESS_PENALTY, "both late assignees' penalties");
        assertEq(_stake(second), MIN_STAKE - LIVENESS_PENALTY, "the taker that lapsed paid too");
        _assertEtherConserved();
    }
}
