// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylConsumer} from "../interfaces/ISibylConsumer.sol";
import {ISibylCoordinator} from "../interfaces/ISibylCoordinator.sol";
import {ResultStatus} from "../interfaces/SibylTypes.sol";

/// @title SibylConsumer
/// @notice Base for dapps that ask Sibyl: request with the right fee, receive results in
/// `_onSibylResult`. Only the coordinator can deliver.
/// @dev Each request names who gets back what its escrow does not pay for (the rest after delivery,
/// all of it when cancelled): pass the user who paid, so refunds never pool in the dapp.
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

    /// @notice Asks `modelId` about `input`, escrowing `escrow` (at least estimateFee at this block's
    /// base fee) from this contract's balance; what delivery does not cost is credited to `refundTo`.
    function _requestSibyl(
        bytes32 modelId,
        bytes memory input,
        uint32 callbackGasLimit,
        uint256 escrow,
        address refundTo
    ) internal returns (uint256 requestId) {
        return sibylCoordinator.request{value: escrow}(modelId, input, callbackGasLimit, refundTo);
    }

    /// @notice The least escrow a request needs in this block (the coordinator's floor); quote
    /// off-chain with headroom over the base fee, since it may rise before the request is mined.
    function _sibylEscrowNow(bytes32 modelId, uint32 callbackGasLimit) internal view returns (uint256) {
        return sibylCoordinator.estimateFee(modelId, callbackGasLimit, block.basefee);
    }

    /// @notice Accepts ether only from the coordinator (a withdrawal of this contract's refunds).
    receive() external payable {
        if (msg.sender != address(sibylCoordinator)) revert SibylConsumer__OnlyCoordinator(msg.sender);
    }

    /// @notice Pulls this contract's coordinator balance (refunds of requests it named itself for)
    /// into its own ether balance and returns how much came.
    function _reclaimSibylBalance() internal returns (uint256 amount) {
        amount = sibylCoordinator.balanceOf(address(this));
        if (amount > 0) sibylCoordinator.withdraw();
    }

    /// @notice Receives a result. Runs with the callback gas the request set; a revert here is
    /// recorded by the coordinator and the result is not delivered again.
    function _onSibylResult(uint256 requestId, ResultStatus status, bytes calldata output) internal virtual;
}
