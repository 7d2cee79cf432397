// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IOperatorLedger} from "./interfaces/IOperatorLedger.sol";
import {ISibylConsumer} from "./interfaces/ISibylConsumer.sol";
import {ISibylCoordinator} from "./interfaces/ISibylCoordinator.sol";
import {ISibylLog} from "./interfaces/ISibylLog.sol";
import {
    CallbackOutcome,
    FeeParameters,
    Fulfillment,
    Model,
    RequestCommitment,
    ResultStatement,
    ResultStatus
} from "./interfaces/SibylTypes.sol";
import {FulfillmentGas} from "./libraries/FulfillmentGas.sol";
import {ResultStatements} from "./libraries/ResultStatements.sol";
import {SibylEncoding} from "./libraries/SibylEncoding.sol";

/// @title SibylCoordinator
/// @notice One version of Sibyl's request logic: takes inference requests with their escrow, assigns
/// each to an operator of the ledger, takes results (queued in the log, or proven at once), charges
/// each request its measured share of the gas, refunds the rest, and calls consumers back with exact
/// gas. Replaceable: the log and the ledger outlive it.
/// @dev Every wei held is a pending request's escrow or a credited balance.
contract SibylCoordinator is ISibylCoordinator, Ownable2Step, Pausable, ReentrancyGuardTransient {
    /// @dev Gas kept back when checking that a consumer gets its full callback gas: covers the cold
    /// account access and memory of the CALL itself (Chainlink's FunctionsRouter uses the same bound).
    uint256 private constant GAS_FOR_CALL_EXACT_CHECK = 5_000;
    /// @notice Highest callback gas cap the owner may set: with the largest output, a lone request
    /// still fits one transaction under EIP-7825's 2^24 gas.
    uint32 public constant MAX_CALLBACK_GAS_LIMIT = 14_000_000;
    /// @notice Largest output a model may allow, for the same reason.
    uint32 public constant MAX_OUTPUT_BYTES = 32_768;
    /// @notice Largest metadata a result may carry: requesters pay for its bytes, so an operator must
    /// not be able to pad it.
    uint256 public constant MAX_METADATA_BYTES = 1_024;
    /// @notice Most operators a model may ask to agree.
    uint8 public constant MAX_QUORUM = 16;
    uint256 private constant SIGNATURE_BYTES = 65;
    /// @dev A signed statement in NoConsensus evidence: outputHash (32), status (1), signature (65).
    uint256 private constant STATEMENT_BYTES = 98;

    /// @inheritdoc ISibylCoordinator
    ISibylLog public immutable log;
    /// @inheritdoc ISibylCoordinator
    IOperatorLedger public immutable ledger;
    /// @inheritdoc ISibylCoordinator
    uint256 public immutable firstRequestId;
    /// @dev Where this version stands, in the one slot a request reads and writes.
    struct Version {
        uint88 nextRequestId;
        /// @dev Set by the log when it authorizes this version, cleared when it authorizes the next.
        bool current;
        address successor;
    }

    Version private _version;

    FeeParameters private _feeParameters;

    /// @inheritdoc ISibylCoordinator
    mapping(address account => uint256 amount) public balanceOf;

    mapping(bytes32 modelId => Model model) private _models;
    mapping(uint256 requestId => bytes32 commitmentHash) private _commitments;

    /// @param firstId The first request id (1 for the first version; a successor's is its predecessor's
    /// nextRequestId once retired, so ids never repeat across versions).
    constructor(
        address initialOwner,
        ISibylLog resultLog,
        IOperatorLedger operatorLedger,
        uint256 firstId,
        FeeParameters memory fees
    ) Ownable(initialOwner) {
        log = resultLog;
        ledger = operatorLedger;
        firstRequestId = firstId == 0 ? 1 : firstId;
        _version.nextRequestId = SafeCast.toUint88(firstRequestId);
        setFeeParameters(fees);
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

        requestId = _takeRequestId();
        (address operator, uint64 exclusiveUntil) = ledger.assign(requestId, modelId, model.quorum);
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
        // Its own requests need no ledger check (it was drawn from the model's operators); another's,
        // after their window, are checked one by one (_consume).
        (uint256[] memory leaves, FulfillmentGas.Delivery memory delivery) = _consumeAll(
            fulfillments,
            gasAtStart,
            FulfillmentGas.FULFILL_CALLDATA_FIXED_BYTES,
            false
        );
        delivery.firstSequence = log.appendProven(leaves, newRoot, proof, msg.sender);
        _callBack(fulfillments, delivery);
        _settle(fulfillments, delivery, 0);
    }

    /// @inheritdoc ISibylCoordinator
    function deliver(Fulfillment[] calldata fulfillments) external nonReentrant {
        uint256 gasAtStart = gasleft();
        // Only the assignee may deliver, and it was drawn from the model's operators: the ledger need not
        // be asked.
        (uint256[] memory leaves, FulfillmentGas.Delivery memory delivery) = _consumeAll(
            fulfillments,
            gasAtStart,
            FulfillmentGas.DELIVER_CALLDATA_FIXED_BYTES,
            true
        );
        // Before the callbacks, so consumers see the log as it is, and its writes are measured gas.
        delivery.firstSequence = log.appendDelivered(leaves);
        _callBack(fulfillments, delivery);
        _settle(fulfillments, delivery, _feeParameters.proofGasPerLeaf);
    }

    /// @inheritdoc ISibylCoordinator
    function reassign(RequestCommitment[] calldata commitments) external {
        uint64 exclusiveUntil = ledger.exclusiveUntilNow();
        for (uint256 i; i < commitments.length; ++i) {
            RequestCommitment calldata old = commitments[i];
            uint256 requestId = old.requestId;
            _checkPending(old);
            _checkServes(msg.sender, old.modelId);
            if (block.timestamp > old.deadline) revert RequestExpired(requestId, old.deadline);
            if (block.timestamp <= old.exclusiveUntil) {
                revert NotAssignedOperator(requestId, old.operator, old.exclusiveUntil);
            }
            if (msg.sender == old.operator) revert AlreadyAssigned(requestId, msg.sender);
            RequestCommitment memory commitment = old;
            commitment.operator = msg.sender;
            commitment.exclusiveUntil = exclusiveUntil;
            _commitments[requestId] = keccak256(abi.encode(commitment));
            emit RequestReassigned(requestId, msg.sender, commitment);
            _penalizeLate(old);
        }
    }

    /// @inheritdoc ISibylCoordinator
    function statementDigest(ResultStatement calldata statement) external view returns (bytes32) {
        return
            ResultStatements.digest(
                address(this),
                statement.requestId,
                statement.outputHash,
                statement.status
            );
    }

    // ─── Versions ──────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ISibylCoordinator
    function activate() external {
        if (msg.sender != address(log)) revert NotLog(msg.sender);
        _version.current = true;
    }

    /// @inheritdoc ISibylCoordinator
    function retire(address next) external {
        if (msg.sender != address(log)) revert NotLog(msg.sender);
        _version.current = false;
        _version.successor = next;
        emit CoordinatorRetired(next);
    }

    /// @inheritdoc ISibylCoordinator
    function nextRequestId() external view returns (uint256) {
        return _version.nextRequestId;
    }

    /// @inheritdoc ISibylCoordinator
    function successor() external view returns (address) {
        return _version.successor;
    }

    // ─── Balances and views ────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ISibylCoordinator
    function withdraw() external nonReentrant {
        uint256 amount = balanceOf[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        balanceOf[msg.sender] = 0;
        emit BalanceWithdrawn(msg.sender, amount);
        (bool success, ) = msg.sender.call{value: amount}("");
        if (!success) revert TransferFailed(msg.sender, amount);
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
        // Pending requests are checked against the quorum at delivery: lowering it would weaken what
        // their requesters trusted. A lower quorum is another model id.
        uint8 quorum = _models[modelId].quorum;
        if (model.quorum < quorum) revert QuorumLowered(modelId, quorum, model.quorum);
        _models[modelId] = model;
        emit ModelUpdated(modelId, model);
    }

    /// @inheritdoc ISibylCoordinator
    function setFeeParameters(FeeParameters memory parameters) public onlyOwner {
        if (parameters.maxCallbackGasLimit > MAX_CALLBACK_GAS_LIMIT) {
            revert CallbackGasCapTooHigh(parameters.maxCallbackGasLimit, MAX_CALLBACK_GAS_LIMIT);
        }
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
                fees.proofGasPerLeaf +
                uint256(fees.gasPerOutputByte) * model.maxOutputBytes;
        return model.fee + gas * gasPrice;
    }

    /// @dev The next request id, if this version takes requests (the log authorized it, and no successor).
    function _takeRequestId() private returns (uint256 requestId) {
        Version memory version = _version;
        if (!version.current) {
            if (version.successor != address(0)) revert RetiredCoordinator(version.successor);
            revert CoordinatorNotAuthorized(address(log));
        }
        requestId = version.nextRequestId;
        _version.nextRequestId = version.nextRequestId + 1;
    }

    function _checkModelLimits(bytes32 modelId, Model calldata model) private pure {
        if (model.quorum == 0 || model.quorum > MAX_QUORUM) revert InvalidQuorum(modelId, model.quorum);
        if (
            model.maxInputBytes == 0 ||
            model.maxOutputBytes == 0 ||
            model.maxOutputBytes > MAX_OUTPUT_BYTES ||
            model.timeout == 0
        ) {
            revert InvalidModelLimits(modelId, model.maxInputBytes, model.maxOutputBytes, model.timeout);
        }
    }

    /// @dev Reverts unless `commitment` is a pending request's.
    function _checkPending(RequestCommitment calldata commitment) private view {
        bytes32 stored = _commitments[commitment.requestId];
        if (stored == 0) revert RequestNotPending(commitment.requestId);
        if (stored != keccak256(abi.encode(commitment))) revert CommitmentMismatch(commitment.requestId);
    }

    /// @dev Checks and retires every result's request and returns their leaves, bound to msg.sender,
    /// with what settling needs.
    function _consumeAll(
        Fulfillment[] calldata fulfillments,
        uint256 gasAtStart,
        uint256 fixedCalldataBytes,
        bool assignedOnly
    ) private returns (uint256[] memory leaves, FulfillmentGas.Delivery memory delivery) {
        uint256 count = fulfillments.length;
        leaves = new uint256[](count);
        delivery = FulfillmentGas.start(count, 0, gasAtStart, balanceOf[msg.sender], fixedCalldataBytes);
        for (uint256 i; i < count; ++i) {
            uint256 memoryMark = _memoryMark();
            leaves[i] = _consume(fulfillments[i], delivery, i, assignedOnly);
            _releaseMemory(memoryMark);
        }
    }

    /// @dev Checks one result against its request and its assignment (`assignedOnly`: whatever the
    /// window), retires the request, holds its whole escrow for its refundTo until settlement, records
    /// what settling needs, and returns the result's leaf, bound to msg.sender.
    function _consume(
        Fulfillment calldata fulfillment,
        FulfillmentGas.Delivery memory delivery,
        uint256 i,
        bool assignedOnly
    ) private returns (uint256 leaf) {
        RequestCommitment calldata commitment = fulfillment.commitment;
        uint256 requestId = commitment.requestId;
        _checkPending(commitment);
        if (block.timestamp > commitment.deadline) revert RequestExpired(requestId, commitment.deadline);
        bool late = msg.sender != commitment.operator;
        if (late) {
            if (assignedOnly || block.timestamp <= commitment.exclusiveUntil) {
                revert NotAssignedOperator(requestId, commitment.operator, commitment.exclusiveUntil);
            }
            _checkServes(msg.sender, commitment.modelId);
        }
        bytes calldata output = fulfillment.output;
        bytes calldata metadata = fulfillment.metadata;
        if (output.length > commitment.maxOutputBytes) {
            revert OutputTooLarge(requestId, output.length, commitment.maxOutputBytes);
        }
        if (metadata.length > MAX_METADATA_BYTES) {
            revert MetadataTooLarge(requestId, metadata.length, MAX_METADATA_BYTES);
        }
        uint8 status = fulfillment.status;
        if (status > uint8(type(ResultStatus).max)) revert InvalidStatus(requestId, status);
        bytes32 outputHash = keccak256(output);
        // Its co-signatures' checks are this request's own gas, not its neighbours'.
        uint256 gasBefore = gasleft();
        delivery.modelFees[i] = _checkAgreement(fulfillment, requestId, outputHash, status);
        FulfillmentGas.addOwnGas(delivery, i, gasBefore - gasleft());
        delete _commitments[requestId];
        // Another operator's fulfil after the window: the assignee was late.
        if (late) _penalizeLate(commitment);
        _holdEscrow(fulfillment, delivery, i);
        leaf = SibylEncoding.leafOf(
            requestId,
            commitment.modelId,
            commitment.inputHash,
            outputHash,
            keccak256(metadata),
            status,
            msg.sender
        );
    }

    /// @dev Has the ledger burn a late assignee's penalty (paying it to the taker would pay whoever can
    /// cause it), unless the request's escrow no longer pays for its delivery at today's base fee (the
    /// price request() asks for): the base fee rose since, and a node may leave such a request waiting
    /// rather than deliver at a loss. Anything request() would take today, the assignee must serve.
    function _penalizeLate(RequestCommitment calldata commitment) private {
        uint256 needed = _escrowNeeded(
            _models[commitment.modelId],
            commitment.callbackGasLimit,
            block.basefee
        );
        if (commitment.escrow < needed) return;
        ledger.penalize(commitment.operator, commitment.requestId);
    }

    /// @dev Holds a result's whole escrow for its refundTo until settlement and records its sizes.
    function _holdEscrow(
        Fulfillment calldata fulfillment,
        FulfillmentGas.Delivery memory delivery,
        uint256 i
    ) private {
        address refundTo = fulfillment.commitment.refundTo;
        uint256 escrow = fulfillment.commitment.escrow;
        // Credited in full now and charged at settlement: this write's cost (a new or cold slot) is
        // this request's own, and settlement's later write to the slot costs the same for everyone.
        uint256 gasBefore = gasleft();
        balanceOf[refundTo] += escrow;
        FulfillmentGas.addOwnGas(delivery, i, gasBefore - gasleft());
        FulfillmentGas.record(
            delivery,
            i,
            fulfillment.output.length,
            fulfillment.metadata.length,
            fulfillment.signatures.length,
            refundTo,
            escrow
        );
    }

    /// @dev Checks the co-signatures a result's model asks for and returns the model fee it earns;
    /// NoConsensus (quorum models only) earns none and must be proven (_checkNoConsensus).
    function _checkAgreement(
        Fulfillment calldata fulfillment,
        uint256 requestId,
        bytes32 outputHash,
        uint8 status
    ) private view returns (uint256 modelFee) {
        bytes32 modelId = fulfillment.commitment.modelId;
        Model storage model = _models[modelId];
        uint256 quorum = model.quorum;
        if (status == uint8(ResultStatus.NoConsensus)) {
            if (quorum <= 1) revert InvalidStatus(requestId, status);
            _checkNoConsensus(fulfillment, requestId, modelId);
            return 0;
        }
        _checkCosigners(requestId, modelId, outputHash, status, fulfillment.signatures, quorum - 1);
        return model.fee;
    }

    /// @dev A NoConsensus has no output and is proven: by two other operators' signed statements of
    /// different answers, or, without evidence, from halfway through the assignee's window on (see
    /// _noConsensusFrom), so the
    /// one operator that may deliver cannot end a request as NoConsensus at a moment of its choosing,
    /// and one refused its co-signatures still ends the request inside its window.
    function _checkNoConsensus(
        Fulfillment calldata fulfillment,
        uint256 requestId,
        bytes32 modelId
    ) private view {
        if (fulfillment.output.length != 0) {
            revert NoConsensusWithOutput(requestId, fulfillment.output.length);
        }
        bytes calldata evidence = fulfillment.signatures;
        if (evidence.length == 0) {
            uint64 provableFrom = _noConsensusFrom(fulfillment.commitment);
            if (block.timestamp < provableFrom) revert NoConsensusTooEarly(requestId, provableFrom);
            return;
        }
        if (evidence.length != 2 * STATEMENT_BYTES) revert MalformedDisagreement(requestId, evidence.length);
        (address signerA, bytes32 answerA) = _statementSigner(requestId, evidence[:STATEMENT_BYTES]);
        (address signerB, bytes32 answerB) = _statementSigner(requestId, evidence[STATEMENT_BYTES:]);
        bool valid =
            signerA != address(0) &&
                signerB != address(0) &&
                signerA != signerB &&
                signerA != msg.sender &&
                signerB != msg.sender &&
                answerA != answerB &&
                ledger.serves(signerA, modelId) &&
                ledger.serves(signerB, modelId);
        if (!valid) revert NotDisagreement(requestId, signerA, signerB);
    }

    /// @dev When a NoConsensus without evidence is first taken: halfway through the assignee's window,
    /// or one window before the deadline if sooner (a taken-over request's new window may run to its
    /// deadline). Both are fixed by the request, not by the deliverer.
    function _noConsensusFrom(RequestCommitment calldata commitment) private view returns (uint64) {
        uint64 window = ledger.operatorParameters().exclusiveWindow;
        uint64 halfway = commitment.exclusiveUntil - window / 2;
        uint64 beforeDeadline = commitment.deadline - window;
        return beforeDeadline < halfway ? beforeDeadline : halfway;
    }

    /// @dev Who signed a 98-byte statement (zero if unreadable), and the answer it names.
    function _statementSigner(
        uint256 requestId,
        bytes calldata statement
    ) private view returns (address signer, bytes32 answer) {
        bytes32 outputHash = bytes32(statement[:32]);
        uint8 status = uint8(statement[32]);
        bytes32 digest = ResultStatements.digest(address(this), requestId, outputHash, status);
        (signer, , ) = ECDSA.tryRecoverCalldata(digest, statement[33:STATEMENT_BYTES]);
        answer = keccak256(abi.encode(outputHash, status));
    }

    /// @dev Reverts unless `operator` is active and declared `modelId` in the ledger.
    function _checkServes(address operator, bytes32 modelId) private view {
        if (!ledger.serves(operator, modelId)) revert NotServingModel(operator, modelId);
    }

    /// @dev Checks that `signatures` are `needed` distinct signatures of the answer by operators that
    /// serve the model, none the deliverer's (msg.sender), signers ascending.
    function _checkCosigners(
        uint256 requestId,
        bytes32 modelId,
        bytes32 outputHash,
        uint8 status,
        bytes calldata signatures,
        uint256 needed
    ) private view {
        if (signatures.length != needed * SIGNATURE_BYTES) {
            revert WrongSignatureCount(requestId, signatures.length / SIGNATURE_BYTES, needed);
        }
        if (needed == 0) return;
        bytes32 digest = ResultStatements.digest(address(this), requestId, outputHash, status);
        address previous;
        for (uint256 offset; offset < signatures.length; offset += SIGNATURE_BYTES) {
            (address signer, ECDSA.RecoverError error, ) = ECDSA.tryRecoverCalldata(
                digest,
                signatures[offset:offset + SIGNATURE_BYTES]
            );
            if (error != ECDSA.RecoverError.NoError || signer <= previous || signer == msg.sender) {
                revert InvalidCosigner(requestId, signer);
            }
            if (!ledger.serves(signer, modelId)) revert InvalidCosigner(requestId, signer);
            previous = signer;
        }
    }

    /// @dev Calls each requester back that asked to be, measuring the gas each callback took.
    function _callBack(Fulfillment[] calldata fulfillments, FulfillmentGas.Delivery memory delivery) private {
        for (uint256 i; i < fulfillments.length; ++i) {
            uint256 memoryMark = _memoryMark();
            uint256 gasBefore = gasleft();
            delivery.outcomes[i] = _deliver(fulfillments[i]);
            FulfillmentGas.addOwnGas(delivery, i, gasBefore - gasleft());
            _releaseMemory(memoryMark);
        }
    }

    /// @dev Charges each request its measured share of the transaction's gas at the price paid (see
    /// FulfillmentGas) plus `proofGas` toward the later proof of its leaf, capped by its escrow, from
    /// what was held for its refundTo, and records each delivery; the operator is credited the sum.
    function _settle(
        Fulfillment[] calldata fulfillments,
        FulfillmentGas.Delivery memory delivery,
        uint256 proofGas
    ) private {
        FulfillmentGas.Rate memory batch = FulfillmentGas.rate(
            delivery,
            _chargedGasPrice(),
            msg.data.length,
            proofGas
        );
        uint256 earned;
        for (uint256 i; i < fulfillments.length; ++i) {
            uint256 memoryMark = _memoryMark();
            uint256 fee = FulfillmentGas.feeOf(delivery, batch, i);
            balanceOf[delivery.refundTo[i]] -= fee;
            earned += fee;
            Fulfillment calldata fulfillment = fulfillments[i];
            emit ResultDelivered(
                fulfillment.commitment.requestId,
                fulfillment.commitment.modelId,
                msg.sender,
                delivery.firstSequence + i,
                ResultStatus(fulfillment.status),
                delivery.outcomes[i],
                fee,
                fulfillment.commitment.inputHash,
                fulfillment.output,
                fulfillment.metadata
            );
            _releaseMemory(memoryMark);
        }
        // No BalanceCredited: the operator's earnings are the fees of its ResultDelivered events, and
        // the event would cost every lone delivery ~1,400 gas.
        balanceOf[msg.sender] += earned;
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

    /// @dev Where free memory starts now. Each result's work needs memory only while it runs (hashes,
    /// callback data, event data); giving it back afterwards keeps memory, whose cost grows with its
    /// square, at one result's size however big the batch.
    function _memoryMark() private pure returns (uint256 mark) {
        assembly ("memory-safe") {
            mark := mload(0x40)
        }
    }

    /// @dev Frees the memory allocated since `mark`; nothing allocated since may be used afterwards.
    function _releaseMemory(uint256 mark) private pure {
        assembly ("memory-safe") {
            mstore(0x40, mark)
        }
    }

    function _credit(address account, uint256 amount) private {
        balanceOf[account] += amount;
        emit BalanceCredited(account, amount);
    }
}
