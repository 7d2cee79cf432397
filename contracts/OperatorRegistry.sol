// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ISibylCoordinator} from "./interfaces/ISibylCoordinator.sol";
import {Operator, OperatorParameters} from "./interfaces/SibylTypes.sol";

/// @title OperatorRegistry
/// @notice The coordinator's operators: stake, exit with unbonding, and the active set each request
/// is assigned from.
abstract contract OperatorRegistry is ISibylCoordinator, Ownable2Step, ReentrancyGuardTransient {
    /// @notice Longest unbonding delay or exclusive window the owner may set, so no parameter can lock
    /// a stake or a request away for good.
    uint64 public constant MAX_OPERATOR_DELAY = 90 days;

    OperatorParameters private _operatorParameters;
    mapping(address operator => Operator registration) private _operators;
    address[] private _active;
    /// @dev 1 + the operator's index in _active; 0 when it is not in the set.
    mapping(address operator => uint256 position) private _activePosition;

    /// @inheritdoc ISibylCoordinator
    function registerOperator() external payable {
        Operator storage operator = _operators[msg.sender];
        if (operator.active) revert OperatorAlreadyActive(msg.sender);
        uint256 stake = operator.stake + msg.value;
        uint256 minStake = _operatorParameters.minStake;
        if (stake < minStake) revert StakeTooLow(stake, minStake);
        operator.stake = SafeCast.toUint128(stake);
        operator.active = true;
        operator.unlockAt = 0;
        _active.push(msg.sender);
        _activePosition[msg.sender] = _active.length;
        emit OperatorRegistered(msg.sender, stake);
    }

    /// @inheritdoc ISibylCoordinator
    function requestOperatorExit() external {
        Operator storage operator = _operators[msg.sender];
        if (!operator.active) revert NotActiveOperator(msg.sender);
        operator.active = false;
        operator.unlockAt = uint64(block.timestamp) + _operatorParameters.unbondingDelay;
        _leaveActiveSet(msg.sender);
        emit OperatorExitRequested(msg.sender, operator.unlockAt);
    }

    /// @inheritdoc ISibylCoordinator
    function withdrawStake() external nonReentrant {
        Operator storage operator = _operators[msg.sender];
        uint256 stake = operator.stake;
        if (stake == 0) revert NothingToWithdraw(msg.sender);
        if (operator.active || block.timestamp < operator.unlockAt)
            revert StakeLocked(msg.sender, operator.unlockAt);
        operator.stake = 0;
        emit StakeWithdrawn(msg.sender, stake);
        _send(msg.sender, stake);
    }

    /// @inheritdoc ISibylCoordinator
    function operatorOf(address operator) external view returns (Operator memory) {
        return _operators[operator];
    }

    /// @inheritdoc ISibylCoordinator
    function activeOperators() external view returns (address[] memory) {
        return _active;
    }

    /// @inheritdoc ISibylCoordinator
    function operatorParameters() external view returns (OperatorParameters memory) {
        return _operatorParameters;
    }

    /// @inheritdoc ISibylCoordinator
    function setOperatorParameters(OperatorParameters memory parameters) public onlyOwner {
        if (parameters.unbondingDelay > MAX_OPERATOR_DELAY)
            revert OperatorDelayTooLong(parameters.unbondingDelay, MAX_OPERATOR_DELAY);
        if (parameters.exclusiveWindow > MAX_OPERATOR_DELAY)
            revert OperatorDelayTooLong(parameters.exclusiveWindow, MAX_OPERATOR_DELAY);
        _operatorParameters = parameters;
        emit OperatorParametersSet(parameters);
    }

    function _isActive(address operator) internal view returns (bool) {
        return _activePosition[operator] != 0;
    }

    /// @dev Picks the active operator for a new request from a seed no requester sets on its own: the
    /// beacon's randomness for this block, mixed with the request id so each request draws anew.
    function _assign(uint256 requestId) internal view returns (address operator, uint64 exclusiveUntil) {
        uint256 count = _active.length;
        if (count == 0) revert NoActiveOperator();
        uint256 seed = uint256(keccak256(abi.encode(block.prevrandao, requestId)));
        operator = _active[seed % count];
        exclusiveUntil = _exclusiveUntilNow();
    }

    /// @dev When an exclusive window opened now closes.
    function _exclusiveUntilNow() internal view returns (uint64) {
        return uint64(block.timestamp) + _operatorParameters.exclusiveWindow;
    }

    function _send(address to, uint256 amount) internal {
        (bool success, ) = to.call{value: amount}("");
        if (!success) revert TransferFailed(to, amount);
    }

    function _leaveActiveSet(address operator) private {
        uint256 index = _activePosition[operator] - 1;
        address last = _active[_active.length - 1];
        _active[index] = last;
        _activePosition[last] = index + 1;
        _active.pop();
        delete _activePosition[operator];
    }
}
