// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylConsumer} from "../interfaces/ISibylConsumer.sol";
import {ISibylCoordinator} from "../interfaces/ISibylCoordinator.sol";
import {ISibylLog} from "../interfaces/ISibylLog.sol";
import {ResultStatus} from "../interfaces/SibylTypes.sol";

/// @title SibylConsumer
/// @notice Base for dapps that ask Sibyl: request with the right fee, receive results in
/// `_onSibylResult`. Only a coordinator the Sibyl log authorizes can deliver.
/// @dev Built on the log, the deployment's one long-lived address: requests go to the coordinator the
/// log names now, and results are accepted from any coordinator it still lets append, so a consumer
/// keeps working across coordinator upgrades (a retired version still delivers what it took).
/// Each request names who gets back what its escrow does not pay for (the rest after delivery, all of
/// it when cancelled): pass the user who paid, so refunds never pool in the dapp.
abstract contract SibylConsumer is ISibylConsumer {
    /// @notice Someone other than an authorized coordinator called onSibylResult or sent ether.
    error SibylConsumer__OnlyCoordinator(address caller);

    /// @notice The Sibyl deployment's result log: names the current coordinator and vouches for others.
    ISibylLog public immutable sibylLog;

    constructor(ISibylLog log) {
        sibylLog = log;
    }

    /// @notice The coordinator new requests go to now.
    function sibylCoordinator() public view returns (ISibylCoordinator) {
        return ISibylCoordinator(sibylLog.coordinator());
    }

    /// @inheritdoc ISibylConsumer
    function onSibylResult(uint256 requestId, ResultStatus status, bytes calldata output) external {
        // The log and this slot were just touched by the delivery itself: the check costs a few hundred gas.
        if (!sibylLog.isCoordinator(msg.sender)) revert SibylConsumer__OnlyCoordinator(msg.sender);
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
        return sibylCoordinator().request{value: escrow}(modelId, input, callbackGasLimit, refundTo);
    }

    /// @notice The least escrow a request needs in this block (the coordinator's floor); quote
    /// off-chain with headroom over the base fee, since it may rise before the request is mined.
    function _sibylEscrowNow(bytes32 modelId, uint32 callbackGasLimit) internal view returns (uint256) {
        return sibylCoordinator().estimateFee(modelId, callbackGasLimit, block.basefee);
    }

    /// @notice Accepts ether only from a coordinator of this deployment, past or present (a withdrawal
    /// of this contract's refunds).
    receive() external payable {
        if (!_isSibylCoordinator(msg.sender)) revert SibylConsumer__OnlyCoordinator(msg.sender);
    }

    /// @notice Pulls this contract's balance at `coordinator` (refunds of requests it named itself
    /// for) into its own ether balance and returns how much came.
    function _reclaimSibylBalance(ISibylCoordinator coordinator) internal returns (uint256 amount) {
        amount = coordinator.balanceOf(address(this));
        if (amount > 0) coordinator.withdraw();
    }

    /// @notice Receives a result. Runs with the callback gas the request set; a revert here is
    /// recorded by the coordinator and the result is not delivered again.
    function _onSibylResult(uint256 requestId, ResultStatus status, bytes calldata output) internal virtual;

    function _isSibylCoordinator(address account) private view returns (bool) {
        address[] memory known = sibylLog.coordinators();
        for (uint256 i; i < known.length; ++i) if (known[i] == account) return true;
        return false;
    }
}
