// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SibylConsumer} from "../consumer/SibylConsumer.sol";
import {ISibylLog} from "../interfaces/ISibylLog.sol";
import {ResultStatus} from "../interfaces/SibylTypes.sol";

/// @title NoopConsumer
/// @notice The cheapest possible dapp: it asks and ignores the answer. Gas benchmarks use it to price
/// the callback itself.
contract NoopConsumer is SibylConsumer {
    constructor(ISibylLog log) SibylConsumer(log) {}

    function ask(
        bytes32 modelId,
        bytes calldata input,
        uint32 callbackGasLimit
    ) external payable returns (uint256) {
        return _requestSibyl(modelId, input, callbackGasLimit, msg.value, msg.sender);
    }

    // solhint-disable-next-line no-empty-blocks
    function _onSibylResult(uint256, ResultStatus, bytes calldata) internal override {}
}
