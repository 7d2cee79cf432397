// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ISibylCoordinator} from "./interfaces/ISibylCoordinator.sol";
import {Operator, OperatorParameters} from "./interfaces/SibylTypes.sol";

/// @title OperatorRegistry
/// @notice The coordinator's operators: stake, exit with unbonding, the active set each request is
/// assigned from, where each takes co-signing requests, and what their stake pays for misbehaving.
abstract contract OperatorRegistry is ISibylCoordinator, Ownable2Step, ReentrancyGuardTransient {
    /// @notice Longest unbonding delay or exclusive window the owner may set, so no parameter can lock
    /// a stake or a request away for good.
    uint64 public constant MAX_OPERATOR_DELAY = 90 days;
    /// @notice Longest co-signing endpoint an operator may publish.
    uint256 public constant MAX_ENDPOINT_BYTES = 256;

    OperatorParameters private _operatorParameters;
    mapping(address operator => Operator registration) private _operators;
    address[] private _active;
    /// @dev 1 + the operator's index in _active; 0 when it is not in the set.
    mapping(address operator => uint256 position) private _activePosition;
    mapping(address operator => string endpoint) private _endpoints;

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
    function setOperatorEndpoint(string calldata endpoint) external {
        if (bytes(endpoint).length > MAX_ENDPOINT_BYTES)
            revert EndpointTooLong(bytes(endpoint).length, MAX_ENDPOINT_BYTES);
        _endpoints[msg.sender] = endpoint;
        emit OperatorEndpointSet(msg.sender, endpoint);
    }

    /// @inheritdoc ISibylCoordinator
    function operatorEndpoint(address operator) external view returns (string memory) {
        return _endpoints[operator];
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
        if (parameters.equivocationSlashBps > 10_000)
            revert SlashShareTooHigh(parameters.equivocationSlashBps);
        _operatorParameters = parameters;
        emit OperatorParametersSet(parameters);
    }

    function _isActive(address operator) internal view returns (bool) {
        return _activePosition[operator] != 0;
    }

    /// @dev Takes the liveness penalty from the stake of request `requestId`'s late assignee; the
    /// caller decides who gets it. An operator whose stake could not pay the next penalty leaves the
    /// active set (one missed window alone does not cost it its place).
    function _takeLivenessPenalty(address operator, uint256 requestId) internal returns (uint256 taken) {
        uint256 penalty = _operatorParameters.livenessPenalty;
        if (penalty == 0) return 0;
        taken = _takeStake(operator, penalty);
        Operator storage registration = _operators[operator];
        if (registration.active && registration.stake < penalty) _deactivate(operator);
        emit OperatorPenalized(operator, requestId, taken);
    }

    /// @dev Takes the equivocation share of `operator`'s stake for `reporter` and removes it from the
    /// active set; what is left stays locked for a whole unbonding delay from now, slashable still.
    function _slash(address operator, uint256 requestId, address reporter) internal {
        uint256 stake = _operators[operator].stake;
        if (stake == 0) revert NothingToSlash(operator);
        uint256 taken = _takeStake(operator, (stake * _operatorParameters.equivocationSlashBps) / 10_000);
        _deactivate(operator);
        emit OperatorSlashed(operator, requestId, reporter, taken);
        _credit(reporter, taken);
    }

    /// @dev Credits `amount` to `account`'s withdrawable balance (the coordinator's ledger).
    function _credit(address account, uint256 amount) internal virtual;

    /// @dev Picks the active operator for a new request from a seed no requester sets on its own: the
    /// beacon's randomness for this block, mixed with the request id so each request draws anew. A
    /// model that needs `quorum` operators to agree needs that many active.
    function _assign(
        uint256 requestId,
        bytes32 modelId,
        uint8 quorum
    ) internal view returns (address operator, uint64 exclusiveUntil) {
        uint256 count = _active.length;
        if (count == 0) revert NoActiveOperator();
        if (count < quorum) revert NotEnoughOperators(modelId, count, quorum);
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

    function _takeStake(address operator, uint256 amount) private returns (uint256 taken) {
        Operator storage registration = _operators[operator];
        uint256 stake = registration.stake;
        taken = amount < stake ? amount : stake;
        registration.stake = uint128(stake - taken);
    }

    /// @dev Out of the active set, its stake locked for an unbonding delay from now (never shortened).
    function _deactivate(address operator) private {
        Operator storage registration = _operators[operator];
        uint64 unlockAt = uint64(block.timestamp) + _operatorParameters.unbondingDelay;
        if (registration.unlockAt > unlockAt) unlockAt = registration.unlockAt;
        registration.unlockAt = unlockAt;
        if (!registration.active) return;
        registration.active = false;
        _leaveActiveSet(operator);
        emit OperatorDeactivated(operator, unlockAt);
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
