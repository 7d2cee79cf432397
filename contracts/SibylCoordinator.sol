// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IBatchVerifier} from "./interfaces/IBatchVerifier.sol";
import {ISibylConsumer} from "./interfaces/ISibylConsumer.sol";
import {ISibylCoordinator} from "./interfaces/ISibylCoordinator.sol";
import {
    CallbackOutcome,
    Fulfillment,
    Model,
    Operator,
    RequestCommitment,
    ResultStatus
} from "./interfaces/SibylTypes.sol";
import {SibylEncoding} from "./libraries/SibylEncoding.sol";

/// @title SibylCoordinator
/// @notice Takes inference requests with their fees, and batches of results proven to extend the
/// result log; pays operators, refunds expired requests and calls consumers back with exact gas.
/// @dev Every wei held is a pending request's fee, a credited balance, or an operator's stake.
contract SibylCoordinator is ISibylCoordinator, Ownable2Step, Pausable, ReentrancyGuardTransient {
    /// @dev Gas kept back when checking that a consumer gets its full callback gas: covers the cold
    /// account access and memory of the CALL itself (Chainlink's FunctionsRouter uses the same bound).
    uint256 private constant GAS_FOR_CALL_EXACT_CHECK = 5_000;
    uint256 private constant TREE_CAPACITY = 1 << SibylEncoding.TREE_DEPTH;

    /// @inheritdoc ISibylCoordinator
    uint256 public root = SibylEncoding.EMPTY_ROOT;
    /// @inheritdoc ISibylCoordinator
    uint64 public nextIndex;
    /// @dev Bit k is set when batches of 2^k have a verifier; shares nextIndex's slot, which fulfil
    /// reads anyway, so finding the verifier for a batch costs no extra storage read.
    uint64 private _batchSizeBits;
    /// @inheritdoc ISibylCoordinator
    uint256 public nextRequestId = 1;

    /// @notice Gas charged per request on top of its callback gas: its share of a fulfilment.
    uint32 public fulfillmentOverheadGas;
    /// @notice Floor of the gas price used in fees.
    uint64 public minGasPrice;
    /// @notice Highest callback gas limit a request may ask for.
    uint32 public maxCallbackGasLimit;
    /// @notice Least stake an operator must hold while active.
    uint128 public minStake;
    /// @notice Seconds between an operator's exit and its stake unlocking.
    uint64 public unbondingDelay;

    /// @inheritdoc ISibylCoordinator
    mapping(address account => uint256 amount) public balanceOf;
    /// @notice The verifier used for batches of each size.
    mapping(uint256 batchSize => IBatchVerifier verifier) public verifierFor;

    mapping(bytes32 modelId => Model model) private _models;
    mapping(uint256 requestId => bytes32 commitmentHash) private _commitments;
    mapping(address operator => Operator registration) private _operators;

    constructor(
        address initialOwner,
        uint32 fulfillmentOverheadGas_,
        uint64 minGasPrice_,
        uint32 maxCallbackGasLimit_,
        uint128 minStake_,
        uint64 unbondingDelay_
    ) Ownable(initialOwner) {
        setFeeParameters(fulfillmentOverheadGas_, minGasPrice_, maxCallbackGasLimit_);
        setOperatorParameters(minStake_, unbondingDelay_);
    }

    // ─── Requests ──────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ISibylCoordinator
    function estimateFee(bytes32 modelId, uint32 callbackGasLimit) external view returns (uint256) {
        Model memory model = _models[modelId];
        if (model.timeout == 0) revert UnknownModel(modelId);
        return _fee(model.fee, callbackGasLimit);
    }

    /// @inheritdoc ISibylCoordinator
    function request(
        bytes32 modelId,
        bytes calldata input,
        uint32 callbackGasLimit
    ) external payable whenNotPaused returns (uint256 requestId) {
        Model memory model = _models[modelId];
        if (model.timeout == 0) revert UnknownModel(modelId);
        if (!model.enabled) revert ModelDisabled(modelId);
        if (input.length == 0) revert EmptyInput(modelId);
        if (input.length > model.maxInputBytes)
            revert InputTooLarge(modelId, input.length, model.maxInputBytes);
        if (callbackGasLimit > maxCallbackGasLimit) {
            revert CallbackGasLimitTooHigh(callbackGasLimit, maxCallbackGasLimit);
        }
        uint256 fee = _fee(model.fee, callbackGasLimit);
        if (msg.value < fee) revert InsufficientPayment(msg.value, fee);

        requestId = nextRequestId++;
        RequestCommitment memory commitment = RequestCommitment({
            requestId: requestId,
            modelId: modelId,
            inputHash: keccak256(input),
            requester: msg.sender,
            fee: SafeCast.toUint96(fee),
            deadline: uint64(block.timestamp) + model.timeout,
            callbackGasLimit: callbackGasLimit,
            maxOutputBytes: model.maxOutputBytes
        });
        _commitments[requestId] = keccak256(abi.encode(commitment));
        emit InferenceRequested(requestId, modelId, msg.sender, commitment, input);
        if (msg.value > fee) _credit(msg.sender, msg.value - fee);
    }

    /// @inheritdoc ISibylCoordinator
    function cancel(RequestCommitment calldata commitment) external {
        _checkPending(commitment);
        if (block.timestamp <= commitment.deadline) {
            revert RequestNotExpired(commitment.requestId, commitment.deadline);
        }
        delete _commitments[commitment.requestId];
        emit RequestCancelled(commitment.requestId, commitment.requester, commitment.fee);
        _credit(commitment.requester, commitment.fee);
    }

    /// @inheritdoc ISibylCoordinator
    function commitmentOf(uint256 requestId) external view returns (bytes32) {
        return _commitments[requestId];
    }

    // ─── Fulfilment ────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ISibylCoordinator
    function fulfill(
        Fulfillment[] calldata fulfillments,
        uint256 newRoot,
        uint256[8] calldata proof
    ) external nonReentrant {
        if (!_operators[msg.sender].active) revert NotActiveOperator(msg.sender);
        uint256 count = fulfillments.length;
        (uint256 batchSize, IBatchVerifier verifier) = _verifierFitting(count);
        uint256 startIndex = ((uint256(nextIndex) + batchSize - 1) / batchSize) * batchSize;
        if (startIndex + batchSize > TREE_CAPACITY) revert TreeFull(startIndex, batchSize);
        if (newRoot >= SibylEncoding.SNARK_SCALAR_FIELD) revert RootOutOfField(newRoot);

        uint256 oldRoot = root;
        uint256[] memory signals = new uint256[](batchSize + 3);
        signals[0] = oldRoot;
        signals[1] = newRoot;
        signals[2] = startIndex;
        uint256 earned;
        for (uint256 i; i < count; ++i) {
            signals[3 + i] = _consume(fulfillments[i]);
            earned += fulfillments[i].commitment.fee;
        }
        if (!verifier.verifyBatch(proof, signals))
            revert InvalidProof(oldRoot, newRoot, startIndex, batchSize);

        root = newRoot;
        nextIndex = uint64(startIndex + batchSize);
        emit BatchAppended(msg.sender, oldRoot, newRoot, startIndex, batchSize, count);
        _credit(msg.sender, earned);

        for (uint256 i; i < count; ++i) {
            Fulfillment calldata fulfillment = fulfillments[i];
            RequestCommitment calldata commitment = fulfillment.commitment;
            emit ResultDelivered(
                commitment.requestId,
                commitment.modelId,
                startIndex + i,
                ResultStatus(fulfillment.status),
                _deliver(fulfillment),
                commitment.inputHash,
                fulfillment.output,
                fulfillment.metadata
            );
        }
    }

    /// @inheritdoc ISibylCoordinator
    function batchSizes() external view returns (uint256[] memory sizes) {
        uint256 bits = _batchSizeBits;
        sizes = new uint256[](_popCount(bits));
        uint256 found;
        for (uint256 k; bits >> k != 0; ++k) {
            if ((bits >> k) & 1 == 1) sizes[found++] = 1 << k;
        }
    }

    // ─── Operators and balances ────────────────────────────────────────────────────────────────────

    /// @inheritdoc ISibylCoordinator
    function registerOperator() external payable {
        Operator storage operator = _operators[msg.sender];
        if (operator.active) revert OperatorAlreadyActive(msg.sender);
        uint256 stake = operator.stake + msg.value;
        if (stake < minStake) revert StakeTooLow(stake, minStake);
        operator.stake = SafeCast.toUint128(stake);
        operator.active = true;
        operator.unlockAt = 0;
        emit OperatorRegistered(msg.sender, stake);
    }

    /// @inheritdoc ISibylCoordinator
    function requestOperatorExit() external {
        Operator storage operator = _operators[msg.sender];
        if (!operator.active) revert NotActiveOperator(msg.sender);
        operator.active = false;
        operator.unlockAt = uint64(block.timestamp) + unbondingDelay;
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
    function withdraw() external nonReentrant {
        uint256 amount = balanceOf[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        balanceOf[msg.sender] = 0;
        emit BalanceWithdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @inheritdoc ISibylCoordinator
    function operatorOf(address operator) external view returns (Operator memory) {
        return _operators[operator];
    }

    /// @inheritdoc ISibylCoordinator
    function modelOf(bytes32 modelId) external view returns (Model memory) {
        return _models[modelId];
    }

    // ─── Owner ─────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ISibylCoordinator
    function registerModel(bytes32 modelId, Model calldata model) external onlyOwner {
        if (_models[modelId].timeout != 0) revert ModelAlreadyRegistered(modelId);
        _checkModelLimits(modelId, model);
        _models[modelId] = model;
        emit ModelRegistered(modelId, model);
    }

    /// @inheritdoc ISibylCoordinator
    function updateModel(bytes32 modelId, Model calldata model) external onlyOwner {
        if (_models[modelId].timeout == 0) revert UnknownModel(modelId);
        _checkModelLimits(modelId, model);
        _models[modelId] = model;
        emit ModelUpdated(modelId, model);
    }

    /// @inheritdoc ISibylCoordinator
    function setVerifier(uint256 batchSize, address verifier) external onlyOwner {
        if (batchSize == 0 || batchSize > TREE_CAPACITY || batchSize & (batchSize - 1) != 0) {
            revert InvalidBatchSize(batchSize);
        }
        if (verifier != address(0)) {
            uint256 verifierBatchSize = IBatchVerifier(verifier).batchSize();
            if (verifierBatchSize != batchSize)
                revert VerifierBatchSizeMismatch(batchSize, verifierBatchSize);
        }
        verifierFor[batchSize] = IBatchVerifier(verifier);
        uint64 bit = uint64(1) << _log2Ceil(batchSize);
        _batchSizeBits = verifier == address(0) ? _batchSizeBits & ~bit : _batchSizeBits | bit;
        emit VerifierSet(batchSize, verifier);
    }

    /// @inheritdoc ISibylCoordinator
    function setFeeParameters(
        uint32 fulfillmentOverheadGas_,
        uint64 minGasPrice_,
        uint32 maxCallbackGasLimit_
    ) public onlyOwner {
        fulfillmentOverheadGas = fulfillmentOverheadGas_;
        minGasPrice = minGasPrice_;
        maxCallbackGasLimit = maxCallbackGasLimit_;
        emit FeeParametersSet(fulfillmentOverheadGas_, minGasPrice_, maxCallbackGasLimit_);
    }

    /// @inheritdoc ISibylCoordinator
    function setOperatorParameters(uint128 minStake_, uint64 unbondingDelay_) public onlyOwner {
        minStake = minStake_;
        unbondingDelay = unbondingDelay_;
        emit OperatorParametersSet(minStake_, unbondingDelay_);
    }

    /// @inheritdoc ISibylCoordinator
    function pause() external onlyOwner {
        _pause();
    }

    /// @inheritdoc ISibylCoordinator
    function unpause() external onlyOwner {
        _unpause();
    }

    // ─── Internals ─────────────────────────────────────────────────────────────────────────────────

    function _fee(uint96 modelFee, uint32 callbackGasLimit) private view returns (uint256) {
        uint256 gasPrice = block.basefee > minGasPrice ? block.basefee : minGasPrice;
        return modelFee + (uint256(callbackGasLimit) + fulfillmentOverheadGas) * gasPrice;
    }

    function _checkModelLimits(bytes32 modelId, Model calldata model) private pure {
        if (model.maxInputBytes == 0 || model.maxOutputBytes == 0 || model.timeout == 0) {
            revert InvalidModelLimits(modelId, model.maxInputBytes, model.maxOutputBytes, model.timeout);
        }
    }

    function _checkPending(RequestCommitment calldata commitment) private view {
        bytes32 stored = _commitments[commitment.requestId];
        if (stored == 0) revert RequestNotPending(commitment.requestId);
        if (stored != keccak256(abi.encode(commitment))) revert CommitmentMismatch(commitment.requestId);
    }

    /// @dev Checks one result against its request, retires the request and returns the result's leaf.
    function _consume(Fulfillment calldata fulfillment) private returns (uint256 leaf) {
        RequestCommitment calldata commitment = fulfillment.commitment;
        uint256 requestId = commitment.requestId;
        _checkPending(commitment);
        if (block.timestamp > commitment.deadline) revert RequestExpired(requestId, commitment.deadline);
        if (fulfillment.output.length > commitment.maxOutputBytes) {
            revert OutputTooLarge(requestId, fulfillment.output.length, commitment.maxOutputBytes);
        }
        if (fulfillment.status > uint8(type(ResultStatus).max))
            revert InvalidStatus(requestId, fulfillment.status);
        delete _commitments[requestId];
        return
            SibylEncoding.leafOf(
                requestId,
                commitment.modelId,
                commitment.inputHash,
                keccak256(fulfillment.output),
                keccak256(fulfillment.metadata),
                fulfillment.status
            );
    }

    /// @dev Calls the requester back, if it asked to be; its failure is recorded, never propagated.
    function _deliver(Fulfillment calldata fulfillment) private returns (CallbackOutcome) {
        RequestCommitment calldata commitment = fulfillment.commitment;
        if (commitment.callbackGasLimit == 0 || commitment.requester.code.length == 0) {
            return CallbackOutcome.Skipped;
        }
        bytes memory data = abi.encodeCall(
            ISibylConsumer.onSibylResult,
            (commitment.requestId, ResultStatus(fulfillment.status), fulfillment.output)
        );
        bool success = _callWithExactGas(
            commitment.requestId,
            commitment.callbackGasLimit,
            commitment.requester,
            data
        );
        return success ? CallbackOutcome.Succeeded : CallbackOutcome.Failed;
    }

    /// @dev Gives `target` exactly `gasAmount` gas or reverts the whole fulfilment, so an operator
    /// cannot starve a consumer by sending too little gas. Return data is never copied, so a consumer
    /// cannot make the coordinator pay for a huge return.
    function _callWithExactGas(
        uint256 requestId,
        uint256 gasAmount,
        address target,
        bytes memory data
    ) private returns (bool success) {
        bool enoughGas;
        assembly ("memory-safe") {
            let available := gas()
            if gt(available, GAS_FOR_CALL_EXACT_CHECK) {
                available := sub(available, GAS_FOR_CALL_EXACT_CHECK)
                // The CALL forwards at most 63/64 of what is left.
                enoughGas := gt(sub(available, div(available, 64)), gasAmount)
            }
            if enoughGas {
                success := call(gasAmount, target, 0, add(data, 0x20), mload(data), 0, 0)
            }
        }
        if (!enoughGas) revert InsufficientGasForCallback(requestId, gasleft(), gasAmount);
    }

    function _verifierFitting(
        uint256 count
    ) private view returns (uint256 batchSize, IBatchVerifier verifier) {
        if (count != 0) {
            uint256 bits = _batchSizeBits;
            for (uint256 k = _log2Ceil(count); bits >> k != 0; ++k) {
                if ((bits >> k) & 1 == 1) {
                    batchSize = 1 << k;
                    return (batchSize, verifierFor[batchSize]);
                }
            }
        }
        revert UnsupportedBatchSize(count);
    }

    /// @dev The least k with 2^k >= value.
    function _log2Ceil(uint256 value) private pure returns (uint256 k) {
        while ((1 << k) < value) ++k;
    }

    function _popCount(uint256 bits) private pure returns (uint256 count) {
        for (; bits != 0; bits &= bits - 1) ++count;
    }

    function _credit(address account, uint256 amount) private {
        balanceOf[account] += amount;
        emit BalanceCredited(account, amount);
    }

    function _send(address to, uint256 amount) private {
        (bool success, ) = to.call{value: amount}("");
        if (!success) revert TransferFailed(to, amount);
    }
}
