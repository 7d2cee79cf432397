// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylConsumer} from "../interfaces/ISibylConsumer.sol";
import {ISibylCoordinator} from "../interfaces/ISibylCoordinator.sol";
import {ResultStatus} from "../interfaces/SibylTypes.sol";

/// @title SibylConsumer
/// @notice Base for dapps that ask Sibyl: request with the right fee, receive results in
/// `_onSibylResult`. Only the coordinator can deliver.
/// @dev A cancelled request's fee is credited to the requester, i.e. this contract, in the
/// coordinator; `_reclaimSibylBalance` brings it back so the dapp can decide whose it is.
abstract contract SibylConsumer is ISibylConsumer {
    /// @notice Someone other than the coordinator called onSibylResult.
    error SibylConsumer__OnlyCoordinator(address caller);

    /// @notice The coordinator this consumer asks and trusts for results.
    ISibylCoordinator public immutable sibylCoordinator;

    constructor(ISibylCoordinator coordinator) {
        sibylCoordinator = coordinator;
    }

    /// @inheritdoc ISibylConsumer
    function onSibylResult(uint256 requestId, ResultStatus status, bytes calldata output) external {
        if (msg.sender != address(sibylCoordinator)) revert SibylConsumer__OnlyCoordinator(msg.sender);
        _onSibylResult(requestId, status, output);
    }

    /// @notice Asks `modelId` about `input`, paying `fee` (from estimateFee) from this contract's balance.
    function _requestSibyl(
        bytes32 modelId,
        bytes memory input,
        uint32 callbackGasLimit,
        uint256 fee
    ) internal returns (uint256 requestId) {
        return sibylCoordinator.request{value: fee}(modelId, input, callbackGasLimit);
    }

    /// @notice Accepts ether only from the coordinator (a withdrawal of this contract's refunds).
    receive() external payable {
        if (msg.sender != address(sibylCoordinator)) revert SibylConsumer__OnlyCoordinator(msg.sender);
    }

    /// @notice Pulls this contract's coordinator balance (fees of its cancelled requests, refunded)
    /// into its own ether balance and returns how much came.
    function _reclaimSibylBalance() internal returns (uint256 amount) {
        amount = sibylCoordinator.balanceOf(address(this));
        if (amount > 0) sibylCoordinator.withdraw();
    }

    /// @notice Receives a result. Runs with the callback gas the request set; a revert here is
    /// recorded by the coordinator and the result is not delivered again.
    function _onSibylResult(uint256 requestId, ResultStatus status, bytes calldata output) internal virtual;
}
