// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {Fulfillment, RequestCommitment} from "../../contracts/interfaces/SibylTypes.sol";
import {PendingLogFixture} from "./utils/PendingLogFixture.sol";
import {Vm} from "./utils/Vm.sol";

/// @notice Taking over a request whose exclusive window passed: the taker becomes its assignee with a
/// new window (so it may deliver without a proof), everything else about the request stays, and a
/// copied reassign only hands its copier the work.
contract SibylCoordinatorReassignTest is PendingLogFixture {
    address internal third = address(0x0C0C);
    address internal stranger = address(0xBEEF);

    function setUp() public override {
        super.setUp();
        _registerOperator(second);
        _registerOperator(third);
    }

    function _list(
        RequestCommitment memory commitment
    ) internal pure returns (RequestCommitment[] memory list) {
        list = new RequestCommitment[](1);
        list[0] = commitment;
    }

    /// @dev A copy to alter: assigning a memory struct only copies the reference.
    function _copy(RequestCommitment memory commitment) internal pure returns (RequestCommitment memory) {
        return abi.decode(abi.encode(commitment), (RequestCommitment));
    }

    /// @dev `old` with `taker` as its operator and a window opened now: what reassign must store.
    function _takenBy(
        RequestCommitment memory old,
        address taker
    ) internal view returns (RequestCommitment memory taken) {
        taken = _copy(old);
        taken.operator = taker;
        taken.exclusiveUntil = uint64(block.timestamp) + EXCLUSIVE_WINDOW;
    }

    /// @dev Reassigns `old` to `taker`, checking the event and the stored commitment; returns the new one.
    function _reassign(
        address taker,
        RequestCommitment memory old
    ) internal returns (RequestCommitment memory taken) {
        RequestCommitment memory expected = _takenBy(old, taker);
        vm.recordLogs();
        vm.prank(taker);
        coordinator.reassign(_list(old));
        Vm.Log[] memory logs = _only(vm.getRecordedLogs(), ISibylCoordinator.RequestReassigned.selector);
        assertEq(logs.length, 1, "one RequestReassigned");
        assertEq(uint256(logs[0].topics[1]), old.requestId, "its request");
        assertEq(address(uint160(uint256(logs[0].topics[2]))), taker, "its new operator");
        taken = abi.decode(logs[0].data, (RequestCommitment));
        assertEq(
            keccak256(abi.encode(taken)),
            keccak256(abi.encode(expected)),
            "only operator and window change"
        );
        assertEq(coordinator.commitmentOf(old.requestId), keccak256(abi.encode(taken)), "stored as it is");
    }

    /// @dev The logs with event `selector`.
    function _only(Vm.Log[] memory logs, bytes32 selector) internal pure returns (Vm.Log[] memory kept) {
        kept = new Vm.Log[](logs.length);
        uint256 count;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == selector) kept[count++] = logs[i];
        }
        assembly ("memory-safe") {
            mstore(kept, count)
        }
    }

    function _expectReassignRejected(address taker, RequestCommitment memory old, bytes memory err) internal {
        vm.expectRevert(err);
        vm.prank(taker);
        coordinator.reassign(_list(old));
    }

    function _notAssigned(RequestCommitment memory commitment) internal pure returns (bytes memory) {
        return
            abi.encodeWithSelector(
                ISibylCoordinator.NotAssignedOperator.selector,
                commitment.requestId,
                commitment.operator,
                commitment.exclusiveUntil
            );
    }

    function _mismatch(RequestCommitment memory commitment) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(ISibylCoordinator.CommitmentMismatch.selector, commitment.requestId);
    }

    /// @dev Pending with this commitment.
    function _assertPendingAs(RequestCommitment memory commitment, string memory message) internal view {
        assertEq(coordinator.commitmentOf(commitment.requestId), keccak256(abi.encode(commitment)), message);
    }

    function test_reassign_afterTheWindowTheNewAssigneeDeliversAndIsPaid() public {
        RequestCommitment memory old = _requestAssignedTo(operator);
        vm.warp(old.exclusiveUntil + 1);
        RequestCommitment memory taken = _reassign(second, old);

        vm.recordLogs();
        uint256[] memory leaves = _deliverAs(_single(_fulfillment(taken, "answer")), second);
        uint256 fee = _feeOf(_delivered(vm.getRecordedLogs()), old.requestId);
        assertEq(coordinator.balanceOf(second), fee, "the new assignee: its fee (the penalty is burned)");
        assertEq(coordinator.balanceOf(operator), 0, "the absent one is not paid");
        assertEq(ledger.operatorOf(operator).stake, MIN_STAKE - LIVENESS_PENALTY, "it paid the penalty");
        assertEq(ledger.burned(), LIVENESS_PENALTY, "burned");
        assertEq(coordinator.balanceOf(requester), old.escrow - fee, "the requester gets the rest");
        assertEq(leaves[0], _leafBy(_fulfillment(taken, "answer"), second), "the leaf names the deliverer");
        _assertQueue(0, 1, bytes32(0), _chain(bytes32(0), leaves));
    }

    function test_reassign_theOldAssigneeCanDeliverWithNeitherCommitment() public {
        RequestCommitment memory old = _requestAssignedTo(operator);
        vm.warp(old.exclusiveUntil + 1);
        RequestCommitment memory taken = _reassign(second, old);

        _expectDeliverRejected(_single(_fulfillment(old, "late")), operator, _mismatch(old));
        _expectDeliverRejected(_single(_fulfillment(taken, "late")), operator, _notAssigned(taken));
        // Not even once the new window passed: only another reassign would make it the assignee.
        vm.warp(taken.exclusiveUntil + 1);
        _expectDeliverRejected(_single(_fulfillment(taken, "late")), operator, _notAssigned(taken));
        RequestCommitment memory back = _reassign(operator, taken);
        _deliver(_single(_fulfillment(back, "answer")));
        assertEq(coordinator.commitmentOf(old.requestId), bytes32(0), "delivered once it took it back");
        assertEq(coordinator.balanceOf(second), 0, "the assignee that did nothing earned nothing");
    }

    function test_reassign_fulfilWithProofByAnotherOperatorFollowsTheNewWindow() public {
        RequestCommitment memory old = _requestAssignedTo(operator);
        vm.warp(old.exclusiveUntil + 1);
        RequestCommitment memory taken = _reassign(second, old);
        Fulfillment[] memory batch = _single(_fulfillment(taken, "answer"));
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch, third);
        vm.expectRevert(_notAssigned(taken));
        vm.prank(third);
        coordinator.fulfill(batch, newRoot, proof);
        vm.warp(taken.exclusiveUntil + 1);
        vm.prank(third);
        coordinator.fulfill(batch, newRoot, proof);
        assertEq(log.root(), newRoot, "after the new window anyone active may prove it in");
    }

    function test_reassign_insideTheWindowReverts() public {
        RequestCommitment memory old = _requestAssignedTo(operator);
        _expectReassignRejected(second, old, _notAssigned(old));
        vm.warp(old.exclusiveUntil);
        _expectReassignRejected(second, old, _notAssigned(old));
        _expectReassignRejected(operator, old, _notAssigned(old));
        _assertPendingAs(old, "unchanged");
        vm.warp(old.exclusiveUntil + 1);
        _reassign(second, old);
    }

    function test_reassign_afterTheDeadlineReverts() public {
        RequestCommitment memory old = _requestAssignedTo(operator);
        vm.warp(old.deadline + 1);
        _expectReassignRejected(
            second,
            old,
            abi.encodeWithSelector(ISibylCoordinator.RequestExpired.selector, old.requestId, old.deadline)
        );
        _assertPendingAs(old, "unchanged, left for cancel");
    }

    function test_reassign_atTheDeadlineStillWorksButCannotOutliveIt() public {
        RequestCommitment memory old = _requestAssignedTo(operator);
        vm.warp(old.deadline);
        RequestCommitment memory taken = _reassign(second, old);
        assertEq(taken.deadline, old.deadline, "the deadline is the request's, not the window's");
        assertTrue(taken.exclusiveUntil > taken.deadline, "a window past the deadline");
        vm.warp(old.deadline + 1);
        _expectDeliverRejected(
            _single(_fulfillment(taken, "too late")),
            second,
            abi.encodeWithSelector(ISibylCoordinator.RequestExpired.selector, old.requestId, old.deadline)
        );
    }

    function test_reassign_byAnAccountThatIsNoActiveOperatorReverts() public {
        RequestCommitment memory old = _requestAssignedTo(operator);
        vm.warp(old.exclusiveUntil + 1);
        _expectReassignRejected(
            stranger,
            old,
            abi.encodeWithSelector(ISibylCoordinator.NotServingModel.selector, stranger, MODEL_ID)
        );
        vm.prank(third);
        ledger.requestOperatorExit();
        _expectReassignRejected(
            third,
            old,
            abi.encodeWithSelector(ISibylCoordinator.NotServingModel.selector, third, MODEL_ID)
        );
        _assertPendingAs(old, "unchanged");
    }

    function test_reassign_tamperedOrSettledCommitmentReverts() public {
        RequestCommitment memory old = _requestAssignedTo(operator);
        RequestCommitment memory done = _requestAssignedTo(operator);
        RequestCommitment memory cancelled = _requestAssignedTo(operator);
        vm.warp(old.exclusiveUntil + 1);
        _deliver(_single(_fulfillment(done, "answer")));

        RequestCommitment memory tampered = _copy(old);
        tampered.escrow += 1;
        _expectReassignRejected(second, tampered, _mismatch(old));
        tampered = _copy(old);
        tampered.deadline += 1 days;
        _expectReassignRejected(second, tampered, _mismatch(old));
        bytes memory notPending = abi.encodeWithSelector(
            ISibylCoordinator.RequestNotPending.selector,
            done.requestId
        );
        _expectReassignRejected(second, done, notPending);
        tampered = _copy(old);
        tampered.requestId = 999;
        _expectReassignRejected(
            second,
            tampered,
            abi.encodeWithSelector(ISibylCoordinator.RequestNotPending.selector, 999)
        );
        vm.warp(cancelled.deadline + 1);
        coordinator.cancel(cancelled);
        _expectReassignRejected(
            second,
            cancelled,
            abi.encodeWithSelector(ISibylCoordinator.RequestNotPending.selector, cancelled.requestId)
        );
    }

    /// @dev A copy of someone's reassign sent first hands its sender the request, with the duty to
    /// answer it: no balance moves, the escrow stays whole, and if the copier does not deliver, the
    /// request is taken over again once its window passed.
    function test_reassign_copiedCallHandsTheCopierOnlyTheWork() public {
        RequestCommitment memory old = _requestAssignedTo(operator);
        vm.warp(old.exclusiveUntil + 1);
        uint256 held = address(coordinator).balance;
        RequestCommitment memory copied = _reassign(third, old);
        _expectReassignRejected(second, old, _mismatch(old));
        assertEq(coordinator.balanceOf(third), 0, "the copier gained nothing");
        assertEq(coordinator.balanceOf(second), 0, "the original sender lost nothing");
        assertEq(address(coordinator).balance, held, "the escrow is whole");
        _expectDeliverRejected(_single(_fulfillment(copied, "answer")), second, _notAssigned(copied));

        vm.warp(copied.exclusiveUntil + 1);
        RequestCommitment memory retaken = _reassign(second, copied);
        vm.recordLogs();
        _deliverAs(_single(_fulfillment(retaken, "answer")), second);
        uint256 fee = _feeOf(_delivered(vm.getRecordedLogs()), old.requestId);
        assertEq(coordinator.balanceOf(second), fee, "whoever delivers is paid its fee");
        assertEq(ledger.burned(), 2 * LIVENESS_PENALTY, "both late assignees' penalties burned");
        assertEq(coordinator.balanceOf(third), 0, "the copier that did not deliver is not");
        assertEq(coordinator.balanceOf(requester), old.escrow - fee, "and the requester pays once");
    }

    function test_reassign_cancelAfterTheDeadlineTakesTheNewCommitmentAndRefundsInFull() public {
        RequestCommitment memory old = _requestAssignedTo(operator);
        vm.warp(old.exclusiveUntil + 1);
        RequestCommitment memory taken = _reassign(second, old);
        vm.warp(old.deadline + 1);
        vm.expectRevert(_mismatch(old));
        coordinator.cancel(old);
        coordinator.cancel(taken);
        assertEq(coordinator.balanceOf(requester), old.escrow, "the whole escrow back, no penalty");
        assertEq(ledger.burned(), LIVENESS_PENALTY, "the penalty stays burned");
        assertEq(coordinator.balanceOf(second), 0, "the assignee that never delivered earns nothing");
        assertEq(coordinator.commitmentOf(old.requestId), bytes32(0), "retired");
    }

    function test_reassign_byTheAssigneeItselfIsRefused_soALazyAssigneeCannotKeepOthersOut() public {
        RequestCommitment memory old = _requestAssignedTo(operator);
        vm.warp(old.exclusiveUntil + 1);
        _expectReassignRejected(
            operator,
            old,
            abi.encodeWithSelector(ISibylCoordinator.AlreadyAssigned.selector, old.requestId, operator)
        );
        // Its window passed: another operator may take the request over now...
        RequestCommitment memory taken = _reassign(second, old);
        assertEq(taken.operator, second, "taken over");
        // ...while the late assignee, had it delivered first, still could have (deliver is its own).
        RequestCommitment memory late = _requestAssignedTo(operator);
        vm.warp(late.exclusiveUntil + 1);
        _deliver(_single(_fulfillment(late, "late but its own")));
        assertEq(coordinator.commitmentOf(late.requestId), bytes32(0), "delivered by its late assignee");
    }

    function test_reassign_batchTakesAllOrNothing() public {
        RequestCommitment memory first = _requestAssignedTo(operator);
        vm.warp(first.exclusiveUntil + 1);
        RequestCommitment memory fresh = _requestAssignedTo(operator);
        RequestCommitment[] memory both = new RequestCommitment[](2);
        (both[0], both[1]) = (first, fresh);
        vm.expectRevert(_notAssigned(fresh));
        vm.prank(second);
        coordinator.reassign(both);
        _assertPendingAs(first, "the first one not taken either");

        vm.warp(fresh.exclusiveUntil + 1);
        vm.recordLogs();
        vm.prank(second);
        coordinator.reassign(both);
        Vm.Log[] memory logs = _only(vm.getRecordedLogs(), ISibylCoordinator.RequestReassigned.selector);
        assertEq(logs.length, 2, "one RequestReassigned each");
        for (uint256 i; i < 2; ++i) {
            _assertPendingAs(_takenBy(both[i], second), "each taken with a window from now");
        }
        Fulfillment[] memory batch = new Fulfillment[](2);
        batch[0] = _fulfillment(_takenBy(first, second), "a");
        batch[1] = _fulfillment(_takenBy(fresh, second), "b");
        _deliverAs(batch, second);
        _assertQueue(0, 2, bytes32(0), _chain(bytes32(0), _leavesBy(batch, second)));
    }
}
