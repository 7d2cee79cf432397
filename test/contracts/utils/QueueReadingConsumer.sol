// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylConsumer} from "../../../contracts/interfaces/ISibylConsumer.sol";
import {ISibylCoordinator} from "../../../contracts/interfaces/ISibylCoordinator.sol";
import {ISibylLog} from "../../../contracts/interfaces/ISibylLog.sol";
import {ResultStatus} from "../../../contracts/interfaces/SibylTypes.sol";

/// @notice A consumer that reads the result log from inside its callback and keeps what it
/// saw, to show what a consumer can rely on while its result is being delivered.
contract QueueReadingConsumer is ISibylConsumer {
    ISibylCoordinator public immutable coordinator;
    uint256 public sawProven;
    uint256 public sawDelivered;
    bytes32 public sawTail;
    uint256 public sawRoot;

    constructor(ISibylCoordinator coordinator_) {
        coordinator = coordinator_;
    }

    function ask(bytes32 modelId, uint32 callbackGasLimit) external payable returns (uint256) {
        return coordinator.request{value: msg.value}(modelId, "read the log", callbackGasLimit, msg.sender);
    }

    function onSibylResult(uint256, ResultStatus, bytes calldata) external {
        ISibylLog log = coordinator.log();
        (sawProven, sawDelivered, , sawTail) = log.pendingLog();
        sawRoot = log.root();
    }
}
