// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IBatchVerifier} from "./interfaces/IBatchVerifier.sol";
import {ISibylConsumer} from "./interfaces/ISibylConsumer.sol";
import {ISibylCoordinator} from "./interfaces/ISibylCoordinator.sol";
import {
    CallbackOutcome,
    FeeParameters,
    Fulfillment,
    Model,
    OperatorParameters,
    RequestCommitment,
    ResultStatus
} from "./interfaces/SibylTypes.sol";
import {FulfillmentGas} from "./libraries/FulfillmentGas.sol";
import {SibylEncoding} from "./libraries/SibylEncoding.sol";
import {OperatorRegistry} from "./OperatorRegistry.sol";

/// @title SibylCoordinator
/// @notice Takes inference requests with their escrow, assigns each to an operator, and takes batches
/// of results proven to extend the result log; charges each request its measured share of the gas,
/// refunds the rest, and calls consumers back with exact gas.
/// @dev Every wei held is a pending request's escrow, a credited balance, or an operator's stake.
contract SibylCoordinator is OperatorRegistry, Pausable {
    /// @dev Gas kept back when checking that a consumer gets its full callback gas: covers the cold
    /// account access and memory of the CALL itself (Chainlink's FunctionsRouter uses the same bound).
    uint256 private constant GAS_FOR_CALL_EXACT_CHECK = 5_000;
    uint256 private constant TREE_CAPACITY = 1 << SibylEncoding.TREE_DEPTH;
    /// @notice Highest callback gas cap the owner may set: with the largest output, a lone request
    /// still fits one transaction under EIP-7825's 2^24 gas.
    uint32 public constant MAX_CALLBACK_GAS_LIMIT = 14_000_000;
    /// @notice Largest output a model may allow, for the same reason.
    uint32 public constant MAX_OUTPUT_BYTES = 32_768;
    /// @notice Largest metadata a result may carry: requesters pay for its bytes, so an operator must
    /// not be able to pad it.
    uint256 public constant MAX_METADATA_BYTES = 1_024;
    /// @dev A result's weight in the shared gas, in bytes of output: its fixed work (checks, leaf,
    /// event, its slice of the proof) costs about as much as this many bytes of calldata and log.
    uint256 private constant SHARE_WEIGHT_PER_RESULT = 1_024;
    /// @dev fulfill's ABI encoding: selector, array offset, newRoot, proof and array length; then per
    /// result its offset, its head (commitment, status, two offsets) and its two lengths. Requests are
    /// charged for this length at most: the decoder ignores bytes past it, and an operator padding
    /// with zero bytes (4 gas each) must not bill them as the non-zero bytes the charge assumes.
    uint256 private constant CALLDATA_FIXED_BYTES = 4 + 32 + 32 + 8 * 32 + 32;
    uint256 private constant CALLDATA_BYTES_PER_RESULT = 32 + 11 * 32 + 3 * 32 + 2 * 32;

    /// @inheritdoc ISibylCoordinator
    uint256 public root = SibylEncoding.EMPTY_ROOT;
    /// @inheritdoc ISibylCoordinator
    uint64 public nextIndex;
    /// @dev Bit k is set when batches of 2^k have a verifier; shares nextIndex's slot, which fulfil
    /// reads anyway, so finding the verifier for a batch costs no extra storage read.
    uint64 private _batchSizeBits;
    /// @inheritdoc ISibylCoordinator
    uint256 public nextRequestId = 1;

    FeeParameters private _feeParameters;

    /// @inheritdoc ISibylCoordinator
    mapping(address account => uint256 amount) public balanceOf;
    /// @notice The verifier used for batches of each size.
    mapping(uint256 batchSize => IBatchVerifier verifier) public verifierFor;

    mapping(bytes32 modelId => Model model) private _models;
    mapping(uint256 requestId => bytes32 commitmentHash) private _commitments;

    /// @dev What a batch's delivery measured, for settling its fees.
    struct Delivery {
        CallbackOutcome[] outcomes;
        /// @dev Gas each request caused on its own: its callback and its refund balance's first write.
        uint256[] ownGas;
        /// @dev Each request's model fee, read while its gas was still being measured.
        uint256[] modelFees;
        uint256 startIndex;
        uint256 gasAtStart;
        uint256 operatorBalance;
    }

    /// @dev The price and the shared gas every request of a batch is charged from.
    struct Rate {
        uint256 price;
        uint256 sharedGas;
        uint256 totalWeight;
    }

    constructor(
        address initialOwner,
        FeeParameters memory fees,
        OperatorParameters memory operators
    ) Ownable(initialOwner) {
        setFeeParameters(fees);
        setOperatorParameters(operators);
    }

    // ─── Requests ──────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ISibylCoordinator
    function estimateFee(
        bytes32 modelId,
        uint32 callbackGasLimit,
        uint256 gasPrice
    ) external view returns (uint256) {
        Model memory model = _models[modelId];
        if (model.timeout == 0) revert UnknownModel(modelId);
        return _escrowNeeded(model, callbackGasLimit, gasPrice);
    }

    /// @inheritdoc ISibylCoordinator
    function request(
        bytes32 modelId,
        bytes calldata input,
        uint32 callbackGasLimit,
        address refundTo
    ) external payable whenNotPaused returns (uint256 requestId) {
        Model memory model = _models[modelId];
        if (model.timeout == 0) revert UnknownModel(modelId);
        if (!model.enabled) revert ModelDisabled(modelId);
        if (input.length == 0) revert EmptyInput(modelId);
        if (input.length > model.maxInputBytes)
            revert InputTooLarge(modelId, input.length, model.maxInputBytes);
        uint32 maxCallbackGasLimit = _feeParameters.maxCallbackGasLimit;
        if (callbackGasLimit > maxCallbackGasLimit) {
            revert CallbackGasLimitTooHigh(callbackGasLimit, maxCallbackGasLimit);
        }
        if (refundTo == address(0)) revert InvalidRefundAddress();
        uint256 needed = _escrowNeeded(model, callbackGasLimit, block.basefee);
        if (msg.value < needed) revert InsufficientPayment(msg.value, needed);

        requestId = nextRequestId++;
        (address operator, uint64 exclusiveUntil) = _assign(requestId);
        RequestCommitment memory commitment = RequestCommitment({
            requestId: requestId,
            modelId: modelId,
            inputHash: keccak256(input),
            requester: msg.sender,
            refundTo: refundTo,
            operator: operator,
            escrow: SafeCast.toUint96(msg.value),
            deadline: uint64(block.timestamp) + model.timeout,
            exclusiveUntil: exclusiveUntil,
            callbackGasLimit: callbackGasLimit,
            maxOutputBytes: model.maxOutputBytes
        });
        _commitments[requestId] = keccak256(abi.encode(commitment));
        emit InferenceRequested(requestId, modelId, msg.sender, commitment, input);
    }

    /// @inheritdoc ISibylCoordinator
    function cancel(RequestCommitment calldata commitment) external {
        _checkPending(commitment);
        if (block.timestamp <= commitment.deadline) {
            revert RequestNotExpired(commitment.requestId, commitment.deadline);
        }
        delete _commitments[commitment.requestId];
        emit RequestCancelled(commitment.requestId, commitment.refundTo, commitment.escrow);
        _credit(commitment.refundTo, commitment.escrow);
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
        uint256 gasAtStart = gasleft();
        if (!_isActive(msg.sender)) revert NotActiveOperator(msg.sender);
        uint256 count = fulfillments.length;
        (uint256 batchSize, IBatchVerifier verifier) = _verifierFitting(count);
        uint256 startIndex = ((uint256(nextIndex) + batchSize - 1) / batchSize) * batchSize;
        if (startIndex + batchSize > TREE_CAPACITY) revert TreeFull(startIndex, batchSize);
        if (newRoot >= SibylEncoding.SNARK_SCALAR_FIELD) revert RootOutOfField(newRoot);

        Delivery memory delivery = Delivery({
            outcomes: new CallbackOutcome[](count),
            ownGas: new uint256[](count),
            modelFees: new uint256[](count),
            startIndex: startIndex,
            gasAtStart: gasAtStart,
            operatorBalance: balanceOf[msg.sender]
        });
        uint256 oldRoot = root;
        uint256[] memory signals = new uint256[](batchSize + 3);
        signals[0] = oldRoot;
        signals[1] = newRoot;
        signals[2] = startIndex;
        for (uint256 i; i < count; ++i) {
            (signals[3 + i], delivery.ownGas[i], delivery.modelFees[i]) = _consume(fulfillments[i]);
        }
        if (!verifier.verifyBatch(proof, signals))
            revert InvalidProof(oldRoot, newRoot, startIndex, batchSize);

        root = newRoot;
        nextIndex = uint64(startIndex + batchSize);
        emit BatchAppended(msg.sender, oldRoot, newRoot, startIndex, batchSize, count);

        for (uint256 i; i < count; ++i) {
            uint256 gasBefore = gasleft();
            delivery.outcomes[i] = _deliver(fulfillments[i]);
            delivery.ownGas[i] += gasBefore - gasleft();
        }
        _settle(fulfillments, delivery);
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

    // ─── Balances and views ────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ISibylCoordinator
    function withdraw() external nonReentrant {
        uint256 amount = balanceOf[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        balanceOf[msg.sender] = 0;
        emit BalanceWithdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @inheritdoc ISibylCoordinator
    function modelOf(bytes32 modelId) external view returns (Model memory) {
        return _models[modelId];
    }

    /// @inheritdoc ISibylCoordinator
    function feeParameters() external view returns (FeeParameters memory) {
        return _feeParameters;
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
    function setFeeParameters(FeeParameters memory parameters) public onlyOwner {
        if (parameters.maxCallbackGasLimit > MAX_CALLBACK_GAS_LIMIT)
            revert CallbackGasCapTooHigh(parameters.maxCallbackGasLimit, MAX_CALLBACK_GAS_LIMIT);
        _feeParameters = parameters;
        emit FeeParametersSet(parameters);
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

    function _escrowNeeded(
        Model memory model,
        uint32 callbackGasLimit,
        uint256 gasPrice
    ) private view returns (uint256) {
        FeeParameters memory fees = _feeParameters;
        if (gasPrice < fees.minGasPrice) gasPrice = fees.minGasPrice;
        uint256 gas =
            uint256(callbackGasLimit) +
                fees.deliveryGas +
                uint256(fees.gasPerOutputByte) * model.maxOutputBytes;
        return model.fee + gas * gasPrice;
    }

    function _checkModelLimits(bytes32 modelId, Model calldata model) private pure {
        if (
            model.maxInputBytes == 0 ||
            model.maxOutputBytes == 0 ||
            model.maxOutputBytes > MAX_OUTPUT_BYTES ||
            model.timeout == 0
        ) {
            revert InvalidModelLimits(modelId, model.maxInputBytes, model.maxOutputBytes, model.timeout);
        }
    }

    function _checkPending(RequestCommitment calldata commitment) private view {
        bytes32 stored = _commitments[commitment.requestId];
        if (stored == 0) revert RequestNotPending(commitment.requestId);
        if (stored != keccak256(abi.encode(commitment))) revert CommitmentMismatch(commitment.requestId);
    }

    /// @dev Checks one result against its request and its assignment, retires the request, holds its
    /// whole escrow for its refundTo until settlement, and returns the result's leaf (bound to
    /// msg.sender), the gas that first write took, and the model's fee.
    function _consume(
        Fulfillment calldata fulfillment
    ) private returns (uint256 leaf, uint256 creditGas, uint256 modelFee) {
        RequestCommitment calldata commitment = fulfillment.commitment;
        uint256 requestId = commitment.requestId;
        _checkPending(commitment);
        if (block.timestamp > commitment.deadline) revert RequestExpired(requestId, commitment.deadline);
        if (msg.sender != commitment.operator && block.timestamp <= commitment.exclusiveUntil) {
            revert NotAssignedOperator(requestId, commitment.operator, commitment.exclusiveUntil);
        }
        if (fulfillment.output.length > commitment.maxOutputBytes) {
            revert OutputTooLarge(requestId, fulfillment.output.length, commitment.maxOutputBytes);
        }
        if (fulfillment.metadata.length > MAX_METADATA_BYTES) {
            revert MetadataTooLarge(requestId, fulfillment.metadata.length, MAX_METADATA_BYTES);
        }
        if (fulfillment.status > uint8(type(ResultStatus).max))
            revert InvalidStatus(requestId, fulfillment.status);
        delete _commitments[requestId];
        // Credited in full now and charged at settlement: this write's cost (a new or cold slot) is
        // this request's own, and settlement's later write to the slot costs the same for everyone.
        uint256 gasBefore = gasleft();
        balanceOf[commitment.refundTo] += commitment.escrow;
        creditGas = gasBefore - gasleft();
        modelFee = _models[commitment.modelId].fee;
        leaf = SibylEncoding.leafOf(
            requestId,
            commitment.modelId,
            commitment.inputHash,
            keccak256(fulfillment.output),
            keccak256(fulfillment.metadata),
            fulfillment.status,
            msg.sender
        );
    }

    /// @dev Charges each request its own gas plus a share of the rest of the transaction (weighted by
    /// its output and metadata bytes) at the price paid, capped by its escrow; the model fee comes on
    /// top. The tip counts only up to maxPriorityFeePerGas, so an operator that is also the block
    /// builder cannot drain escrows with a huge tip.
    function _settle(Fulfillment[] calldata fulfillments, Delivery memory delivery) private {
        uint256 count = fulfillments.length;
        uint256 totalBytes;
        uint256 ownTotal;
        uint256 calldataLength = CALLDATA_FIXED_BYTES + count * CALLDATA_BYTES_PER_RESULT;
        for (uint256 i; i < count; ++i) {
            uint256 outputLength = fulfillments[i].output.length;
            uint256 metadataLength = fulfillments[i].metadata.length;
            totalBytes += outputLength + metadataLength;
            calldataLength += _paddedToWords(outputLength) + _paddedToWords(metadataLength);
            ownTotal += delivery.ownGas[i];
        }
        if (calldataLength > msg.data.length) calldataLength = msg.data.length;
        uint256 pending =
            FulfillmentGas.SETTLE_GAS_FIXED +
                FulfillmentGas.operatorCreditGas(delivery.operatorBalance) +
                count * FulfillmentGas.SETTLE_GAS_PER_RESULT +
                totalBytes * FulfillmentGas.SETTLE_GAS_PER_BYTE;
        Rate memory rate = Rate({
            price: _chargedGasPrice(),
            sharedGas: FulfillmentGas.transactionGas(
                delivery.gasAtStart - gasleft(),
                pending,
                calldataLength,
                count
            ) - ownTotal,
            totalWeight: count * SHARE_WEIGHT_PER_RESULT + totalBytes
        });
        uint256 earned;
        for (uint256 i; i < count; ++i) earned += _charge(fulfillments[i], delivery, i, rate);
        _credit(msg.sender, earned);
    }

    /// @dev Charges one request (capped by its escrow) from what was held for its refundTo, and
    /// records its delivery.
    function _charge(
        Fulfillment calldata fulfillment,
        Delivery memory delivery,
        uint256 i,
        Rate memory rate
    ) private returns (uint256 fee) {
        fee = _feeOf(fulfillment, delivery, i, rate);
        balanceOf[fulfillment.commitment.refundTo] -= fee;
        emit ResultDelivered(
            fulfillment.commitment.requestId,
            fulfillment.commitment.modelId,
            msg.sender,
            delivery.startIndex + i,
            ResultStatus(fulfillment.status),
            delivery.outcomes[i],
            fee,
            fulfillment.commitment.inputHash,
            fulfillment.output,
            fulfillment.metadata
        );
    }

    function _feeOf(
        Fulfillment calldata fulfillment,
        Delivery memory delivery,
        uint256 i,
        Rate memory rate
    ) private pure returns (uint256 fee) {
        uint256 weight = SHARE_WEIGHT_PER_RESULT + fulfillment.output.length + fulfillment.metadata.length;
        uint256 gas =
            delivery.ownGas[i] + (rate.sharedGas * weight + rate.totalWeight - 1) / rate.totalWeight;
        fee = delivery.modelFees[i] + gas * rate.price;
        uint256 escrow = fulfillment.commitment.escrow;
        if (fee > escrow) fee = escrow;
    }

    /// @dev The gas price paid, with the tip counted up to maxPriorityFeePerGas.
    function _chargedGasPrice() private view returns (uint256 price) {
        price = tx.gasprice;
        uint256 cap = block.basefee + _feeParameters.maxPriorityFeePerGas;
        if (price > cap) price = cap;
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

    function _paddedToWords(uint256 length) private pure returns (uint256) {
        return (length + 31) & ~uint256(31);
    }

    function _popCount(uint256 bits) private pure returns (uint256 count) {
        for (; bits != 0; bits &= bits - 1) ++count;
    }

    function _credit(address account, uint256 amount) private {
        balanceOf[account] += amount;
        emit BalanceCredited(account, amount);
    }
}
