// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylConsumer} from "../interfaces/ISibylConsumer.sol";
import {ISibylCoordinator} from "../interfaces/ISibylCoordinator.sol";
import {Fulfillment, RequestCommitment, ResultStatus} from "../interfaces/SibylTypes.sol";

// Misbehaving on purpose: low-level re-entry calls and an endless loop are the point of this mock.
// solhint-disable avoid-low-level-calls, no-empty-blocks

/// @title HostileConsumer
/// @notice Test consumer that misbehaves in its callback in one of several ways, to show that no
/// consumer can block or grief a fulfilment.
contract HostileConsumer is ISibylConsumer {
    enum Mode {
        Revert,
        BurnGas,
        ReturnBomb,
        ReenterFulfill,
        ReenterCancel,
        ReenterRequest,
        /// @dev Takes the result and does nothing: harmless until switched to another mode.
        Accept
    }

    error HostileConsumer__Refused(uint256 requestId);

    ISibylCoordinator public immutable coordinator;
    Mode public mode;
    /// @notice Whether the last re-entry attempt succeeded (it never should, except a new request).
    bool public reentrySucceeded;

    constructor(ISibylCoordinator coordinator_, Mode mode_) payable {
        coordinator = coordinator_;
        mode = mode_;
    }

    /// @notice Switches behaviour, e.g. to BurnGas between a node's gas estimate and its fulfilment.
    function setMode(Mode mode_) external {
        mode = mode_;
    }

    function ask(bytes32 modelId, uint32 callbackGasLimit) external payable returns (uint256) {
        return coordinator.request{value: msg.value}(modelId, "hostile", callbackGasLimit, msg.sender);
    }

    function onSibylResult(uint256 requestId, ResultStatus, bytes calldata) external {
        if (mode == Mode.Revert) revert HostileConsumer__Refused(requestId);
        if (mode == Mode.BurnGas) {
            while (true) {}
        }
        if (mode == Mode.ReturnBomb) {
            assembly {
                return(0, 1000000)
            }
        }
        if (mode == Mode.ReenterFulfill) {
            uint256[8] memory proof;
            (reentrySucceeded, ) = address(coordinator).call(
                abi.encodeCall(ISibylCoordinator.fulfill, (new Fulfillment[](0), 0, proof))
            );
        } else if (mode == Mode.ReenterCancel) {
            RequestCommitment memory nothing;
            nothing.requestId = requestId;
            (reentrySucceeded, ) = address(coordinator).call(
                abi.encodeCall(ISibylCoordinator.cancel, (nothing))
            );
        } else if (mode == Mode.ReenterRequest) {
            (reentrySucceeded, ) = address(coordinator).call{value: address(this).balance}(
                abi.encodeCall(
                    ISibylCoordinator.request,
                    (bytes32("test-model"), bytes("again"), 0, address(this))
                )
            );
        }
    }
}
