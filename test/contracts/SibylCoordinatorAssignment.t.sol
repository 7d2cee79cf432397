// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IOperatorLedger} from "../../contracts/interfaces/IOperatorLedger.sol";
import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {ISibylLog} from "../../contracts/interfaces/ISibylLog.sol";
import {Fulfillment, RequestCommitment} from "../../contracts/interfaces/SibylTypes.sol";
import {SettlementFixture} from "./utils/SettlementFixture.sol";

/// @notice Each request names one active operator that alone may deliver it during its exclusive
/// window, and a result is bound to the account that delivers it: nobody can take another's fees.
contract SibylCoordinatorAssignmentTest is SettlementFixture {
    address internal second = address(0x0B0B);
    address internal third = address(0x0C0C);

    function setUp() public override {
        super.setUp();
        _registerOperator(second);
    }

    /// @dev The active operator that is not `assigned` (two are active).
    function _other(address assigned) internal view returns (address) {
        return assigned == operator ? second : operator;
    }

    function _contains(address[] memory set, address account) internal pure returns (bool) {
        for (uint256 i; i < set.length; ++i) if (set[i] == account) return true;
        return false;
    }

    function test_request_assignsAnOperatorOfTheActiveSet() public {
        _registerOperator(third);
        address[] memory active = ledger.activeOperators();
        assertEq(active.length, 3, "three active");
        for (uint256 i; i < 20; ++i) {
            vm.prevrandao(uint256(keccak256(abi.encode("beacon", i))));
            RequestCommitment memory commitment = _request(requester, "hi", 0);
            assertTrue(_contains(active, commitment.operator), "assigned from the active set");
            assertEq(commitment.exclusiveUntil, block.timestamp + EXCLUSIVE_WINDOW, "window from now");
        }
    }

    function test_fulfill_otherOperatorInsideTheWindowIsNotAssigned() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        address intruder = _other(commitment.operator);
        Fulfillment[] memory batch = _single(_fulfillment(commitment, "answer"));
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch, intruder);
        vm.warp(commitment.exclusiveUntil);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISibylCoordinator.NotAssignedOperator.selector,
                commitment.requestId,
                commitment.operator,
                commitment.exclusiveUntil
            )
        );
        vm.prank(intruder);
        coordinator.fulfill(batch, newRoot, proof);
        assertEq(
            coordinator.commitmentOf(commitment.requestId),
            keccak256(abi.encode(commitment)),
            "still pending for its operator"
        );
    }

    function test_fulfill_batchWithAnotherOperatorsRequestInsideItsWindowIsRejectedWhole() public {
        RequestCommitment memory mine = _requestAssignedTo(operator);
        RequestCommitment memory theirs = _requestAssignedTo(second);
        Fulfillment[] memory batch = new Fulfillment[](2);
        batch[0] = _fulfillment(mine, "mine");
        batch[1] = _fulfillment(theirs, "theirs");
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch, operator);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISibylCoordinator.NotAssignedOperator.selector,
                theirs.requestId,
                second,
                theirs.exclusiveUntil
            )
        );
        vm.prank(operator);
        coordinator.fulfill(batch, newRoot, proof);
        assertTrue(
            coordinator.commitmentOf(mine.requestId) != bytes32(0),
            "its own request not taken either"
        );
    }

    function test_fulfill_otherOperatorAfterTheWindowDelivers() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        address backup = _other(commitment.operator);
        vm.warp(commitment.exclusiveUntil + 1);
        vm.recordLogs();
        _fulfillAs(_single(_fulfillment(commitment, "answer")), backup);
        uint256 fee = _feeOf(_delivered(vm.getRecordedLogs()), commitment.requestId);
        assertEq(coordinator.commitmentOf(commitment.requestId), bytes32(0), "delivered");
        assertEq(coordinator.balanceOf(backup), fee, "the deliverer is paid its fee");
        assertEq(ledger.burned(), LIVENESS_PENALTY, "the late assignee's penalty burned");
        assertEq(coordinator.balanceOf(commitment.operator), 0, "the absent assignee is not");
    }

    function test_fulfill_assignedOperatorInsideTheWindowDelivers() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        _fulfillAs(_single(_fulfillment(commitment, "answer")), commitment.operator);
        assertEq(coordinator.commitmentOf(commitment.requestId), bytes32(0), "delivered");
    }

    function test_requestOperatorExit_leavesTheActiveSet() public {
        _registerOperator(third);
        vm.prank(second);
        ledger.requestOperatorExit();
        address[] memory active = ledger.activeOperators();
        assertEq(active.length, 2, "one left");
        assertTrue(!_contains(active, second), "the exited operator is gone");
        assertTrue(_contains(active, operator) && _contains(active, third), "the others stay");
        for (uint256 i; i < 40; ++i) {
            vm.prevrandao(i);
            RequestCommitment memory commitment = _request(requester, "hi", 0);
            assertTrue(commitment.operator != second, "never assigned to an exited operator");
        }
    }

    function test_fulfill_requestsOfAnExitedOperatorAreServedAfterTheWindow() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        address backup = _other(commitment.operator);
        vm.prank(commitment.operator);
        ledger.requestOperatorExit();
        Fulfillment[] memory batch = _single(_fulfillment(commitment, "answer"));
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch, backup);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISibylCoordinator.NotAssignedOperator.selector,
                commitment.requestId,
                commitment.operator,
                commitment.exclusiveUntil
            )
        );
        vm.prank(backup);
        coordinator.fulfill(batch, newRoot, proof);
        vm.warp(commitment.exclusiveUntil + 1);
        vm.prank(backup);
        coordinator.fulfill(batch, newRoot, proof);
        assertEq(coordinator.commitmentOf(commitment.requestId), bytes32(0), "served by another operator");
    }

    function test_request_noActiveOperatorAfterEveryoneExits() public {
        vm.prank(second);
        ledger.requestOperatorExit();
        vm.prank(operator);
        ledger.requestOperatorExit();
        assertEq(ledger.activeOperators().length, 0, "empty set");
        uint256 escrow = _escrowNow(0);
        vm.expectRevert(abi.encodeWithSelector(IOperatorLedger.NoOperatorForModel.selector, MODEL_ID));
        vm.prank(requester);
        coordinator.request{value: escrow}(MODEL_ID, "hi", 0, requester);
        _registerOperator(third);
        assertEq(_request(requester, "hi", 0).operator, third, "a newcomer takes every request");
    }

    /// hardhat-config: fuzz.runs = 50
    function testFuzz_request_spreadsOverEveryActiveOperator(uint256 beacon) public {
        _registerOperator(third);
        uint256[3] memory hits;
        uint256 requests = 60;
        for (uint256 i; i < requests; ++i) {
            vm.prevrandao(uint256(keccak256(abi.encode(beacon, i))));
            address assigned = _request(requester, "hi", 0).operator;
            if (assigned == operator) ++hits[0];
            else if (assigned == second) ++hits[1];
            else if (assigned == third) ++hits[2];
        }
        assertEq(hits[0] + hits[1] + hits[2], requests, "every request to an active operator");
        // A fair draw gives each 20; below 5 is a one-in-10^4 event for a uniform seed.
        for (uint256 k; k < 3; ++k) assertGe(hits[k], 5, "each operator gets its share");
    }

    // ─── Binding ───────────────────────────────────────────────────────────────────────────────────

    function test_fulfill_copiedCalldataDoesNotVerifyForAnotherSender() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        address honest = commitment.operator;
        address copier = _other(honest);
        Fulfillment[] memory batch = _single(_fulfillment(commitment, "answer"));
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch, honest);
        // Past the window the copier may deliver, but not with the honest operator's proof.
        vm.warp(commitment.exclusiveUntil + 1);
        uint256 oldRoot = log.root();
        vm.expectRevert(abi.encodeWithSelector(ISibylLog.InvalidProof.selector, oldRoot, newRoot, 0, 1));
        vm.prank(copier);
        coordinator.fulfill(batch, newRoot, proof);
        assertEq(coordinator.balanceOf(copier), 0, "the copier takes nothing");

        vm.recordLogs();
        vm.prank(honest);
        coordinator.fulfill(batch, newRoot, proof);
        uint256 fee = _feeOf(_delivered(vm.getRecordedLogs()), commitment.requestId);
        assertEq(log.root(), newRoot, "the honest batch lands");
        assertEq(coordinator.balanceOf(honest), fee, "and its operator is credited");
        assertGe(fee, MODEL_FEE, "with the model fee at least");
    }
}
