// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SibylConsumer} from "sibyl/contracts/consumer/SibylConsumer.sol";
import {ISibylLog} from "sibyl/contracts/interfaces/ISibylLog.sol";
import {ResultStatus} from "sibyl/contracts/interfaces/SibylTypes.sol";

/// @notice Asks a model about a greeting and keeps each answer.
contract Greeter is SibylConsumer {
    uint32 public constant CALLBACK_GAS = 100_000;

    mapping(uint256 requestId => bytes answer) public answers;
    mapping(uint256 requestId => ResultStatus status) public statuses;

    /// @param log The Sibyl deployment's result log: it names the coordinator requests go to, across upgrades.
    constructor(ISibylLog log) SibylConsumer(log) {}

    /// @notice msg.value is the request's escrow: quote it with the SDK's estimateFee (at least
    /// sibylCoordinator.estimateFee(model, CALLBACK_GAS, block.basefee)); what the answer does not cost
    /// is credited back to the asker in the coordinator.
    function ask(bytes32 model, string calldata greeting) external payable returns (uint256) {
        return _requestSibyl(model, bytes(greeting), CALLBACK_GAS, msg.value, msg.sender);
    }

    function _onSibylResult(uint256 requestId, ResultStatus status, bytes calldata output) internal override {
        statuses[requestId] = status;
        if (status == ResultStatus.Ok) answers[requestId] = output;
    }
}
