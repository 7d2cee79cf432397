// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {ISibylLog} from "../../contracts/interfaces/ISibylLog.sol";
import {Fulfillment} from "../../contracts/interfaces/SibylTypes.sol";
import {PendingLogFixture} from "./utils/PendingLogFixture.sol";
import {Delivered} from "./utils/SettlementFixture.sol";

/// @notice The ring of queue checkpoints: the first 256 slots are paid for at deployment,
/// prepareCheckpoints pays for others and changes nothing else, and deliveries work on any slot,
/// prepared or not, including after the ring wraps around.
contract SibylCoordinatorCheckpointsTest is PendingLogFixture {
    uint256 internal constant RING = 1024;
    uint256 internal constant PREPARED_AT_DEPLOYMENT = 256;
    address internal stranger = address(0xBEEF);
    /// @dev The storage slot of checkpoint 0.
    uint256 internal ringBase;

    function setUp() public override {
        super.setUp();
        ringBase = _findRingBase();
    }

    /// @dev Finds the ring by delivering one leaf (checkpoint 1 = keccak(0, leaf)) in a state thrown away.
    function _findRingBase() internal returns (uint256) {
        uint256 snapshot = vm.snapshotState();
        Fulfillment[] memory probe = _answers(1, "probe");
        vm.prank(operator);
        coordinator.deliver(probe);
        bytes32 chain = _chain(bytes32(0), _leavesBy(probe, operator));
        for (uint256 slot; slot < 64; ++slot) {
            if (vm.load(address(log), bytes32(slot)) == chain) {
                vm.revertToState(snapshot);
                return slot - 1;
            }
        }
        revert AssertionFailed("checkpoint ring not found");
    }

    function _checkpoint(uint256 position) internal view returns (bytes32) {
        return vm.load(address(log), bytes32(ringBase + position));
    }

    /// @dev Fulfils (with proofs) until the log holds `count` results, so the next delivery starts there.
    function _fulfillUpTo(uint256 count) internal {
        while (count != 0) {
            uint256 size = count < 64 ? count : 64;
            _fulfill(_answers(size, "filler"));
            count -= size;
        }
    }

    function test_deployment_preparesTheFirstSlotsOnly() public view {
        for (uint256 i; i < RING; ++i) {
            if (i < PREPARED_AT_DEPLOYMENT) assertTrue(_checkpoint(i) != 0, "prepared at deployment");
            else assertEq(_checkpoint(i), bytes32(0), "left for prepareCheckpoints");
        }
    }

    function test_deliver_onUnpreparedSlotsIsQueuedAndProven() public {
        _fulfillUpTo(PREPARED_AT_DEPLOYMENT);
        assertEq(_checkpoint(PREPARED_AT_DEPLOYMENT + 3), bytes32(0), "unprepared");
        uint256[] memory three = _deliver(_answers(3, "three"));
        uint256[] memory two = _deliver(_answers(2, "two"));
        bytes32 start = bytes32(PREPARED_AT_DEPLOYMENT);
        bytes32 afterThree = _chain(start, three);
        assertEq(_checkpoint(PREPARED_AT_DEPLOYMENT + 3), afterThree, "the delivery's end checkpointed");
        _assertQueue(PREPARED_AT_DEPLOYMENT, PREPARED_AT_DEPLOYMENT + 5, start, _chain(afterThree, two));

        _provePending(3, stranger);
        _provePending(2, stranger);
        assertEq(log.nextIndex(), PREPARED_AT_DEPLOYMENT + 8, "two subtrees of 4");
        uint256 end = PREPARED_AT_DEPLOYMENT + 5;
        _assertQueue(end, end, bytes32(end), bytes32(end));
    }

    /// @dev A fresh slot costs its delivery about 17k gas more (a zero slot's first write): measured,
    /// so charged to the requests delivered, not taken from the operator.
    function test_deliver_onAnUnpreparedSlotIsChargedTheFreshWrite() public {
        // Escrows at this price too, so no charge is capped.
        _gasPrice(10 gwei, 0);
        _fulfillUpTo(PREPARED_AT_DEPLOYMENT - 2);
        _deliver(_answers(1, "first"));
        Fulfillment[] memory next = _answers(1, "next");
        uint256 snapshot = vm.snapshotState();
        uint256 unpreparedFee = _deliveredFee(next);
        vm.revertToState(snapshot);
        _gasPrice(10 gwei, 0);
        log.prepareCheckpoints(PREPARED_AT_DEPLOYMENT, PREPARED_AT_DEPLOYMENT + 1);
        uint256 preparedFee = _deliveredFee(next);
        assertGe(unpreparedFee, preparedFee + 17_000 * 10 gwei, "the fresh slot's first write charged");
        // No more than the fresh slot's whole first write (22.1k): in a test's one transaction the slot
        // prepared just before is warm, so the difference can reach all of it.
        assertTrue(unpreparedFee <= preparedFee + 22_100 * 10 gwei, "and no more");
    }

    function _deliveredFee(Fulfillment[] memory batch) internal returns (uint256) {
        vm.recordLogs();
        vm.prank(operator);
        coordinator.deliver(batch);
        Delivered[] memory results = _delivered(vm.getRecordedLogs());
        return results[0].fee;
    }

    /// @dev Called by anyone over the whole ring (and again) while a queue spans prepared and
    /// unprepared slots: the queue, the log and every checkpoint in use stay as they were, and the
    /// pending leaves are still proven against them.
    function test_prepareCheckpoints_changesNothingButUnusedSlots() public {
        _fulfillUpTo(PREPARED_AT_DEPLOYMENT - 2);
        _deliver(_answers(1, "one"));
        _deliver(_answers(3, "three"));
        (uint256 proven, uint256 delivered, bytes32 head, bytes32 tail) = log.pendingLog();
        (uint256 root, uint256 nextIndex) = (log.root(), log.nextIndex());
        bytes32 firstEnd = _checkpoint(PREPARED_AT_DEPLOYMENT - 1);
        bytes32 secondEnd = _checkpoint(PREPARED_AT_DEPLOYMENT + 2);
        assertEq(secondEnd, tail, "the tail sits on an unprepared slot");

        vm.startPrank(stranger);
        log.prepareCheckpoints(0, RING / 2);
        log.prepareCheckpoints(RING / 2, RING);
        log.prepareCheckpoints(0, RING);
        vm.stopPrank();

        _assertQueue(proven, delivered, head, tail);
        assertEq(log.root(), root, "root");
        assertEq(log.nextIndex(), nextIndex, "nextIndex");
        assertEq(_checkpoint(PREPARED_AT_DEPLOYMENT - 1), firstEnd, "a checkpoint in use is left alone");
        assertEq(_checkpoint(PREPARED_AT_DEPLOYMENT + 2), secondEnd, "another, on a slot prepared late");
        for (uint256 i; i < RING; ++i) assertTrue(_checkpoint(i) != 0, "every slot prepared");

        _provePending(1, stranger);
        _provePending(3, stranger);
        // The fulfilled 62 took a subtree of 64 (up to 256): then 1 at 256 and a 4 at 260.
        assertEq(log.nextIndex(), 264, "both proven");
    }

    /// @dev Ranges past the ring are cut at its end, so no other storage is ever written.
    function test_prepareCheckpoints_neverWritesPastTheRing() public {
        bytes32[64] memory after_;
        for (uint256 i; i < 64; ++i) after_[i] = vm.load(address(log), bytes32(ringBase + RING + i));
        uint256 root = log.root();
        address current = log.coordinator();
        log.prepareCheckpoints(RING - 1, RING + 64);
        log.prepareCheckpoints(RING + 5, type(uint256).max);
        log.prepareCheckpoints(20, 10);
        for (uint256 i; i < 64; ++i) {
            assertEq(vm.load(address(log), bytes32(ringBase + RING + i)), after_[i], "past the ring");
        }
        assertEq(log.root(), root, "root");
        assertEq(log.coordinator(), current, "the current coordinator");
        assertTrue(log.isCoordinator(current), "still authorized");
        assertTrue(_checkpoint(RING - 1) != 0, "the ring's last slot prepared");
        assertEq(_checkpoint(RING - 2), bytes32(0), "only the slots asked for");
    }

    /// @dev Past sequence 1024 deliveries reuse the ring: a slot holding an old delivery's checkpoint
    /// is overwritten, and the old chain proves nothing about the new queue.
    function test_deliver_afterTheRingWrapsReusesItsSlots() public {
        uint256[] memory old = _deliver(_answers(2, "old"));
        bytes32 oldChain = _chain(bytes32(0), old);
        assertEq(_checkpoint(2), oldChain, "checkpoint 2 in use");
        _provePending(2, stranger);
        _fulfillUpTo(RING - 2);
        (, uint256 delivered, , ) = log.pendingLog();
        assertEq(delivered, RING, "a full lap");

        uint256[] memory fresh = _deliver(_answers(2, "fresh"));
        bytes32 chain = _chain(bytes32(RING), fresh);
        assertEq(_checkpoint(2), chain, "slot 2 holds the new lap's checkpoint");
        _assertQueue(RING, RING + 2, bytes32(RING), chain);
        (uint256 newRoot, uint256[8] memory proof) = _proveLeaves(old);
        vm.expectRevert(abi.encodeWithSelector(ISibylLog.PendingLeavesMismatch.selector, RING, 2));
        log.prove(old, newRoot, proof);
        _provePending(2, stranger);
        _assertQueue(RING + 2, RING + 2, bytes32(RING + 2), bytes32(RING + 2));
    }
}
