// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Fulfillment} from "../../../contracts/interfaces/SibylTypes.sol";
import {SettlementFixture} from "./SettlementFixture.sol";

/// @notice The settlement fixture plus what tests of the pending queue share: batches of answers,
/// the queue's hash chain computed independently, and readers of pendingLog().
abstract contract PendingLogFixture is SettlementFixture {
    /// @dev A second account: an operator in some tests, a prover that is no operator in others.
    address internal second = address(0x0B0B);

    function _answers(uint256 count, string memory tag) internal returns (Fulfillment[] memory batch) {
        batch = new Fulfillment[](count);
        for (uint256 i; i < count; ++i) {
            batch[i] = _fulfillment(
                _request(requester, abi.encodePacked(tag, i), 0),
                abi.encodePacked("a", i)
            );
        }
    }

    /// @dev The queue's hash chain from `start` over `leaves`, as SibylLog documents it.
    function _chain(bytes32 start, uint256[] memory leaves) internal pure returns (bytes32 chain) {
        chain = start;
        for (uint256 i; i < leaves.length; ++i) chain = keccak256(abi.encode(chain, leaves[i]));
    }

    function _concat(uint256[] memory a, uint256[] memory b) internal pure returns (uint256[] memory all) {
        all = new uint256[](a.length + b.length);
        for (uint256 i; i < a.length; ++i) all[i] = a[i];
        for (uint256 i; i < b.length; ++i) all[a.length + i] = b[i];
    }

    function _expectDeliverRejected(
        Fulfillment[] memory batch,
        address deliverer,
        bytes memory err
    ) internal {
        vm.expectRevert(err);
        vm.prank(deliverer);
        coordinator.deliver(batch);
    }

    function _assertQueue(uint256 proven, uint256 delivered, bytes32 head, bytes32 tail) internal view {
        (uint256 provenNow, uint256 deliveredNow, bytes32 headNow, bytes32 tailNow) = log.pendingLog();
        assertEq(provenNow, proven, "proven");
        assertEq(deliveredNow, delivered, "delivered");
        assertEq(headNow, head, "head of the chain");
        assertEq(tailNow, tail, "tail of the chain");
    }

    /// @dev The price per gas a delivery is charged: the base fee plus the tip up to the cap.
    function _chargedPrice(uint256 baseFee, uint256 tip) internal pure returns (uint256) {
        return baseFee + (tip < MAX_TIP ? tip : MAX_TIP);
    }

    /// @dev Writes the log cursor's nextIndex (its low 40 bits), keeping the rest of the cursor.
    function _setNextIndex(uint256 value) internal {
        bytes32 slot = _nextIndexSlot();
        uint256 packed = uint256(vm.load(address(log), slot));
        vm.store(address(log), slot, bytes32(((packed >> 40) << 40) | value));
        assertEq(log.nextIndex(), value, "nextIndex written");
    }

    /// @dev The storage slot whose change changes nextIndex().
    function _nextIndexSlot() private returns (bytes32) {
        uint256 value = log.nextIndex();
        for (uint256 slot; slot < 32; ++slot) {
            bytes32 original = vm.load(address(log), bytes32(slot));
            vm.store(address(log), bytes32(slot), bytes32(uint256(original) ^ 0xabcdef));
            bool changed = log.nextIndex() != value;
            vm.store(address(log), bytes32(slot), original);
            if (changed) return bytes32(slot);
        }
        revert AssertionFailed("nextIndex slot not found");
    }
}
