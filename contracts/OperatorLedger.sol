// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IOperatorLedger} from "./interfaces/IOperatorLedger.sol";
import {ISibylLog} from "./interfaces/ISibylLog.sol";
import {Operator, OperatorParameters, ResultStatement} from "./interfaces/SibylTypes.sol";
import {ResultStatements} from "./libraries/ResultStatements.sol";

/// @title OperatorLedger
/// @notice The operators' stakes, outliving every coordinator version: who is active, where each takes
/// co-signing requests, and what their stake pays for misbehaving. Coordinators the log authorizes
/// assign requests from it and report late assignees; equivocation evidence it checks itself.
contract OperatorLedger is IOperatorLedger, Ownable2Step, ReentrancyGuardTransient {
    /// @notice Longest unbonding delay or exclusive window the owner may set, so no parameter can lock
    /// a stake or a request away for good.
    uint64 public constant MAX_OPERATOR_DELAY = 90 days;
    /// @notice Longest co-signing endpoint an operator may publish.
    uint256 public constant MAX_ENDPOINT_BYTES = 256;
    /// @notice Most models one operator may declare: joining or leaving the active set walks them all,
    /// inside a penalty's transaction too.
    uint256 public constant MAX_MODELS_PER_OPERATOR = 32;

    /// @notice The log whose coordinators this ledger answers to.
    ISibylLog public immutable log;
    /// @inheritdoc IOperatorLedger
    uint256 public burned;

    OperatorParameters private _parameters;
    mapping(address operator => Operator registration) private _operators;
    address[] private _active;
    /// @dev 1 + the operator's index in _active; 0 when it is not in the set.
    mapping(address operator => uint256 position) private _activePosition;
    mapping(address operator => string endpoint) private _endpoints;
    mapping(address operator => bytes32[] modelIds) private _declared;
    /// @dev The active operators that declared each model: what its requests are drawn from.
    mapping(bytes32 modelId => address[] operators) private _serving;
    /// @dev 1 + the operator's index in _serving[modelId]; 0 when it is not there.
    mapping(bytes32 modelId => mapping(address operator => uint256 position)) private _servingPosition;
    /// @dev Block a report was committed in, by keccak256(abi.encode(reporter, coordinator, evidence)).
    mapping(bytes32 commitment => uint256 blockNumber) private _reportCommittedAt;
    /// @dev Set for keccak256(abi.encode(operator, coordinator, requestId)) once slashed for it.
    mapping(bytes32 offence => bool slashed) private _slashed;

    modifier onlyCoordinator() {
        if (!log.isCoordinator(msg.sender)) revert NotCoordinator(msg.sender);
        _;
    }

    constructor(
        address initialOwner,
        ISibylLog resultLog,
        OperatorParameters memory parameters
    ) Ownable(initialOwner) {
        log = resultLog;
        setOperatorParameters(parameters);
    }

    // ─── Operators ─────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IOperatorLedger
    function registerOperator() external payable {
        Operator storage operator = _operators[msg.sender];
        if (operator.active) revert OperatorAlreadyActive(msg.sender);
        uint256 stake = operator.stake + msg.value;
        uint256 minStake = _parameters.minStake;
        if (stake < minStake) revert StakeTooLow(stake, minStake);
        operator.stake = SafeCast.toUint128(stake);
        operator.active = true;
        operator.unlockAt = 0;
        _enterActiveSet(msg.sender);
        emit OperatorRegistered(msg.sender, stake);
    }

    /// @inheritdoc IOperatorLedger
    function requestOperatorExit() external {
        Operator storage operator = _operators[msg.sender];
        if (!operator.active) revert NotActiveOperator(msg.sender);
        operator.active = false;
        operator.unlockAt = uint64(block.timestamp) + _parameters.unbondingDelay;
        _leaveActiveSet(msg.sender);
        emit OperatorExitRequested(msg.sender, operator.unlockAt);
    }

    /// @inheritdoc IOperatorLedger
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

    /// @inheritdoc IOperatorLedger
    function declareModel(bytes32 modelId) external {
        bytes32[] storage declared = _declared[msg.sender];
        if (_indexOf(declared, modelId) != type(uint256).max)
            revert ModelAlreadyDeclared(msg.sender, modelId);
        if (declared.length >= MAX_MODELS_PER_OPERATOR) {
            revert TooManyModels(msg.sender, MAX_MODELS_PER_OPERATOR);
        }
        declared.push(modelId);
        if (_operators[msg.sender].active) _startServing(modelId, msg.sender);
        emit ModelDeclared(msg.sender, modelId);
    }

    /// @inheritdoc IOperatorLedger
    function withdrawModel(bytes32 modelId) external {
        bytes32[] storage declared = _declared[msg.sender];
        uint256 index = _indexOf(declared, modelId);
        if (index == type(uint256).max) revert ModelNotDeclared(msg.sender, modelId);
        declared[index] = declared[declared.length - 1];
        declared.pop();
        if (_operators[msg.sender].active) _stopServing(modelId, msg.sender);
        emit ModelWithdrawn(msg.sender, modelId);
    }

    /// @inheritdoc IOperatorLedger
    function setOperatorEndpoint(string calldata endpoint) external {
        if (bytes(endpoint).length > MAX_ENDPOINT_BYTES) {
            revert EndpointTooLong(bytes(endpoint).length, MAX_ENDPOINT_BYTES);
        }
        _endpoints[msg.sender] = endpoint;
        emit OperatorEndpointSet(msg.sender, endpoint);
    }

    // ─── For coordinators ──────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IOperatorLedger
    function assign(
        uint256 requestId,
        bytes32 modelId,
        uint8 quorum
    ) external view returns (address operator, uint64 exclusiveUntil) {
        address[] storage serving = _serving[modelId];
        uint256 count = serving.length;
        if (count == 0) revert NoOperatorForModel(modelId);
        if (count < quorum) revert NotEnoughOperators(modelId, count, quorum);
        // A seed no requester sets on its own: the beacon's randomness for this block, mixed with the
        // request id so each request draws anew.
        uint256 seed = uint256(keccak256(abi.encode(block.prevrandao, requestId)));
        operator = serving[seed % count];
        exclusiveUntil = exclusiveUntilNow();
    }

    /// @inheritdoc IOperatorLedger
    function penalize(address operator, uint256 requestId) external onlyCoordinator returns (uint256 taken) {
        uint256 penalty = _parameters.livenessPenalty;
        if (penalty == 0) return 0;
        taken = _takeStake(operator, penalty);
        burned += taken;
        // One missed window alone does not cost an operator its place; a stake that cannot pay the
        // next penalty does.
        Operator storage registration = _operators[operator];
        if (registration.active && registration.stake < penalty) _deactivate(operator);
        emit OperatorPenalized(operator, requestId, taken);
    }

    // ─── Equivocation ──────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IOperatorLedger
    function commitEquivocationReport(bytes32 commitment) external {
        if (_reportCommittedAt[commitment] == 0) _reportCommittedAt[commitment] = block.number;
    }

    /// @inheritdoc IOperatorLedger
    function reportEquivocation(
        address coordinator,
        ResultStatement calldata a,
        bytes calldata signatureA,
        ResultStatement calldata b,
        bytes calldata signatureB
    ) external nonReentrant {
        bytes32 commitment = keccak256(abi.encode(msg.sender, coordinator, a, signatureA, b, signatureB));
        uint256 committedAt = _reportCommittedAt[commitment];
        if (committedAt == 0 || committedAt >= block.number) revert ReportNotCommitted(commitment);
        if (!_wasAuthorized(coordinator)) revert UnknownCoordinator(coordinator);
        address signerA = ResultStatements.signerOf(coordinator, a, signatureA);
        address signerB = ResultStatements.signerOf(coordinator, b, signatureB);
        bool sameAnswer = a.outputHash == b.outputHash && a.status == b.status;
        if (a.requestId != b.requestId || sameAnswer || signerA != signerB || signerA == address(0)) {
            revert NotEquivocation(a.requestId, signerA, signerB);
        }
        bytes32 offence = keccak256(abi.encode(signerA, coordinator, a.requestId));
        if (_slashed[offence]) revert EquivocationAlreadySlashed(signerA, a.requestId);
        _slashed[offence] = true;
        uint256 stake = _operators[signerA].stake;
        if (stake == 0) revert NothingToSlash(signerA);
        uint256 taken = _takeStake(signerA, (stake * _parameters.equivocationSlashBps) / 10_000);
        _deactivate(signerA);
        emit OperatorSlashed(signerA, a.requestId, msg.sender, taken);
        _send(msg.sender, taken);
    }

    // ─── Views ─────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IOperatorLedger
    function operatorOf(address operator) external view returns (Operator memory) {
        return _operators[operator];
    }

    /// @inheritdoc IOperatorLedger
    function operatorEndpoint(address operator) external view returns (string memory) {
        return _endpoints[operator];
    }

    /// @inheritdoc IOperatorLedger
    function activeOperators() external view returns (address[] memory) {
        return _active;
    }

    /// @inheritdoc IOperatorLedger
    function isActive(address operator) external view returns (bool) {
        return _activePosition[operator] != 0;
    }

    /// @inheritdoc IOperatorLedger
    function declaredModels(address operator) external view returns (bytes32[] memory) {
        return _declared[operator];
    }

    /// @inheritdoc IOperatorLedger
    function operatorsFor(bytes32 modelId) external view returns (address[] memory) {
        return _serving[modelId];
    }

    /// @inheritdoc IOperatorLedger
    function serves(address operator, bytes32 modelId) external view returns (bool) {
        return _servingPosition[modelId][operator] != 0;
    }

    /// @inheritdoc IOperatorLedger
    function operatorParameters() external view returns (OperatorParameters memory) {
        return _parameters;
    }

    /// @inheritdoc IOperatorLedger
    function exclusiveUntilNow() public view returns (uint64) {
        return uint64(block.timestamp) + _parameters.exclusiveWindow;
    }

    // ─── Owner ─────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IOperatorLedger
    function setOperatorParameters(OperatorParameters memory parameters) public onlyOwner {
        if (parameters.unbondingDelay > MAX_OPERATOR_DELAY) {
            revert OperatorDelayTooLong(parameters.unbondingDelay, MAX_OPERATOR_DELAY);
        }
        if (parameters.exclusiveWindow > MAX_OPERATOR_DELAY) {
            revert OperatorDelayTooLong(parameters.exclusiveWindow, MAX_OPERATOR_DELAY);
        }
        if (parameters.equivocationSlashBps > 10_000)
            revert SlashShareTooHigh(parameters.equivocationSlashBps);
        _parameters = parameters;
        emit OperatorParametersSet(parameters);
    }

    // ─── Internals ─────────────────────────────────────────────────────────────────────────────────

    function _wasAuthorized(address coordinator) private view returns (bool) {
        address[] memory known = log.coordinators();
        for (uint256 i; i < known.length; ++i) if (known[i] == coordinator) return true;
        return false;
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
        uint64 unlockAt = uint64(block.timestamp) + _parameters.unbondingDelay;
        if (registration.unlockAt > unlockAt) unlockAt = registration.unlockAt;
        registration.unlockAt = unlockAt;
        if (!registration.active) return;
        registration.active = false;
        _leaveActiveSet(operator);
        emit OperatorDeactivated(operator, unlockAt);
    }

    /// @dev Into the active set, and into the draw of every model it declared.
    function _enterActiveSet(address operator) private {
        _active.push(operator);
        _activePosition[operator] = _active.length;
        bytes32[] storage declared = _declared[operator];
        for (uint256 i; i < declared.length; ++i) _startServing(declared[i], operator);
    }

    /// @dev Out of the active set, and out of the draw of every model it declared.
    function _leaveActiveSet(address operator) private {
        uint256 index = _activePosition[operator] - 1;
        address last = _active[_active.length - 1];
        _active[index] = last;
        _activePosition[last] = index + 1;
        _active.pop();
        delete _activePosition[operator];
        bytes32[] storage declared = _declared[operator];
        for (uint256 i; i < declared.length; ++i) _stopServing(declared[i], operator);
    }

    function _startServing(bytes32 modelId, address operator) private {
        address[] storage serving = _serving[modelId];
        serving.push(operator);
        _servingPosition[modelId][operator] = serving.length;
    }

    function _stopServing(bytes32 modelId, address operator) private {
        address[] storage serving = _serving[modelId];
        mapping(address => uint256) storage position = _servingPosition[modelId];
        uint256 index = position[operator] - 1;
        address last = serving[serving.length - 1];
        serving[index] = last;
        position[last] = index + 1;
        serving.pop();
        delete position[operator];
    }

    /// @dev Where `modelId` is in `modelIds`, or type(uint256).max when it is not.
    function _indexOf(bytes32[] storage modelIds, bytes32 modelId) private view returns (uint256) {
        for (uint256 i; i < modelIds.length; ++i) if (modelIds[i] == modelId) return i;
        return type(uint256).max;
    }

    function _send(address to, uint256 amount) private {
        (bool success, ) = to.call{value: amount}("");
        if (!success) revert TransferFailed(to, amount);
    }
}
