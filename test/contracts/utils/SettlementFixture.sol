// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylCoordinator} from "../../../contracts/interfaces/ISibylCoordinator.sol";
import {ISibylLog} from "../../../contracts/interfaces/ISibylLog.sol";
import {CallbackOutcome, RequestCommitment, ResultStatus} from "../../../contracts/interfaces/SibylTypes.sol";
import {CoordinatorFixture} from "./CoordinatorFixture.sol";
import {Vm} from "./Vm.sol";

/// @notice What a delivery's ResultDelivered events say, read the way an indexer reads them.
struct Delivered {
    uint256 requestId;
    uint256 sequence;
    ResultStatus status;
    CallbackOutcome callback;
    uint256 fee;
}

/// @notice What a BatchAppended says: which results (by sequence) went where in the tree.
struct Appended {
    address prover;
    uint256 oldRoot;
    uint256 newRoot;
    uint256 startIndex;
    uint256 batchSize;
    uint256 count;
    uint256 firstSequence;
}

/// @notice The coordinator fixture plus readers for the events that settle a request, more operators,
/// and a chain gas price to settle at.
abstract contract SettlementFixture is CoordinatorFixture {
    /// @dev Every ResultDelivered in `logs`, in order.
    function _delivered(Vm.Log[] memory logs) internal pure returns (Delivered[] memory results) {
        uint256 found;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == ISibylCoordinator.ResultDelivered.selector) ++found;
        }
        results = new Delivered[](found);
        found = 0;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] != ISibylCoordinator.ResultDelivered.selector) continue;
            Delivered memory result = results[found++];
            result.requestId = uint256(logs[i].topics[1]);
            (result.sequence, result.status, result.callback, result.fee, , , ) = abi.decode(
                logs[i].data,
                (uint256, ResultStatus, CallbackOutcome, uint256, bytes32, bytes, bytes)
            );
        }
    }

    /// @dev The last BatchAppended in `logs`.
    function _appended(Vm.Log[] memory logs) internal pure returns (Appended memory batch) {
        for (uint256 i = logs.length; i > 0; --i) {
            if (logs[i - 1].topics[0] != ISibylLog.BatchAppended.selector) continue;
            batch.prover = address(uint160(uint256(logs[i - 1].topics[1])));
            (
                batch.oldRoot,
                batch.newRoot,
                batch.startIndex,
                batch.batchSize,
                batch.count,
                batch.firstSequence
            ) = abi.decode(logs[i - 1].data, (uint256, uint256, uint256, uint256, uint256, uint256));
            return batch;
        }
        revert AssertionFailed("no BatchAppended event");
    }

    /// @dev The fee ResultDelivered reports for `requestId` among `logs`.
    function _feeOf(Delivered[] memory results, uint256 requestId) internal pure returns (uint256) {
        for (uint256 i; i < results.length; ++i) {
            if (results[i].requestId == requestId) return results[i].fee;
        }
        revert AssertionFailed("no ResultDelivered for the request");
    }

    /// @dev The commitment of the last InferenceRequested among `logs`.
    function _requested(Vm.Log[] memory logs) internal pure returns (RequestCommitment memory commitment) {
        for (uint256 i = logs.length; i > 0; --i) {
            if (logs[i - 1].topics[0] == ISibylCoordinator.InferenceRequested.selector) {
                (commitment, ) = abi.decode(logs[i - 1].data, (RequestCommitment, bytes));
                return commitment;
            }
        }
        revert AssertionFailed("no InferenceRequested event");
    }

    /// @dev The block's base fee, and a transaction paying `tip` above it.
    function _gasPrice(uint256 baseFee, uint256 tip) internal {
        vm.fee(baseFee);
        vm.txGasPrice(baseFee + tip);
    }

    function _registerOperator(address account) internal {
        vm.deal(account, 10 ether);
        vm.prank(account);
        ledger.registerOperator{value: MIN_STAKE}();
        _declare(account, MODEL_ID);
    }

    /// @dev Requests until one is assigned to `assignee` (the seed changes with each request id).
    function _requestAssignedTo(address assignee) internal returns (RequestCommitment memory commitment) {
        for (uint256 i; i < 64; ++i) {
            commitment = _request(requester, abi.encodePacked("question ", i), 0);
            if (commitment.operator == assignee) return commitment;
        }
        revert AssertionFailed("never assigned to the operator");
    }
}
