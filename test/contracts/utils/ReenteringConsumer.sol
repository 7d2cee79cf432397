// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylConsumer} from "../../../contracts/interfaces/ISibylConsumer.sol";
import {ISibylCoordinator} from "../../../contracts/interfaces/ISibylCoordinator.sol";
import {ResultStatus} from "../../../contracts/interfaces/SibylTypes.sol";

/// @notice A consumer whose callback makes a prepared call (a prove or a deliver that would succeed on
/// its own, or a call to the log or the ledger only a coordinator may make) to a prepared target, then
/// either keeps the error it got or reverts with it. It can stake as an operator, so a re-entered
/// deliver fails only for being re-entered.
contract ReenteringConsumer is ISibylConsumer {
    ISibylCoordinator public immutable coordinator;
    address internal _target;
    bytes internal _reentry;
    bool internal _bubble;
    bool public reentrySucceeded;
    bytes public reentryError;

    constructor(ISibylCoordinator coordinator_) {
        coordinator = coordinator_;
    }

    /// @notice Stakes msg.value and serves `modelId`, so requests for it may be drawn to this contract.
    function registerOperator(bytes32 modelId) external payable {
        coordinator.ledger().registerOperator{value: msg.value}();
        coordinator.ledger().declareModel(modelId);
    }

    /// @notice The call the next callback makes to the coordinator; with `bubble`, its failure fails
    /// the callback.
    function arm(bytes calldata reentry, bool bubble) external {
        armAt(address(coordinator), reentry, bubble);
    }

    /// @notice The call the next callback makes, to `target` (the log, the ledger, a coordinator).
    function armAt(address target, bytes calldata reentry, bool bubble) public {
        _target = target;
        _reentry = reentry;
        _bubble = bubble;
    }

    function ask(bytes32 modelId, uint32 callbackGasLimit) external payable returns (uint256) {
        return coordinator.request{value: msg.value}(modelId, "re-enter", callbackGasLimit, msg.sender);
    }

    function onSibylResult(uint256, ResultStatus, bytes calldata) external {
        // solhint-disable-next-line avoid-low-level-calls
        (bool success, bytes memory err) = _target.call(_reentry);
        if (!success && _bubble) {
            assembly ("memory-safe") {
                revert(add(err, 32), mload(err))
            }
        }
        reentrySucceeded = success;
        reentryError = err;
    }
}
