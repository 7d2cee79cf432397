// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylCoordinator} from "../../../contracts/interfaces/ISibylCoordinator.sol";
import {
    CallbackOutcome,
    Fulfillment,
    RequestCommitment,
    ResultStatus
} from "../../../contracts/interfaces/SibylTypes.sol";
import {CoordinatorFixture} from "./CoordinatorFixture.sol";
import {Vm} from "./Vm.sol";

/// @notice The coordinator fixture plus what tests of consumer contracts need: the commitment of a
/// request a consumer made, and what the coordinator recorded when it delivered a result.
abstract contract ExamplesFixture is CoordinatorFixture {
    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);
    address internal carol = address(0xCA201);
    /// @dev Holds no stake and no bet: whatever it collects, it collects from someone else.
    address internal stranger = address(0x5742);

    function setUp() public virtual override {
        super.setUp();
        vm.deal(alice, 10 ether);
        vm.deal(bob, 10 ether);
        vm.deal(carol, 10 ether);
        vm.deal(stranger, 10 ether);
    }

    /// @dev Starts recording; the next _requestedCommitment reads the request made in between.
    function _recordRequest() internal {
        vm.recordLogs();
    }

    /// @dev The commitment of the request made since _recordRequest, from InferenceRequested.
    function _requestedCommitment() internal returns (RequestCommitment memory commitment) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == ISibylCoordinator.InferenceRequested.selector) {
                (commitment, ) = abi.decode(logs[i].data, (RequestCommitment, bytes));
                return commitment;
            }
        }
        revert AssertionFailed("no InferenceRequested event");
    }

    /// @dev Delivers one result with `status` and returns what the coordinator recorded of its
    /// callback and charged its escrow.
    function _deliver(
        RequestCommitment memory commitment,
        ResultStatus status,
        bytes memory output
    ) internal returns (CallbackOutcome callback, uint256 fee) {
        Fulfillment memory fulfillment = _fulfillment(commitment, output);
        fulfillment.status = uint8(status);
        vm.recordLogs();
        _fulfill(_single(fulfillment));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == ISibylCoordinator.ResultDelivered.selector) {
                (, , callback, fee, , , ) = abi.decode(
                    logs[i].data,
                    (uint256, ResultStatus, CallbackOutcome, uint256, bytes32, bytes, bytes)
                );
                return (callback, fee);
            }
        }
        revert AssertionFailed("no ResultDelivered event");
    }

    /// @dev Cancels an expired request as `caller`, who may be anyone.
    function _cancelAs(address caller, RequestCommitment memory commitment) internal {
        vm.warp(commitment.deadline + 1);
        vm.prank(caller);
        coordinator.cancel(commitment);
    }
}
