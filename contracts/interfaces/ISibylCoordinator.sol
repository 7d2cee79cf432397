// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {
    CallbackOutcome,
    FeeParameters,
    Fulfillment,
    Model,
    Operator,
    OperatorParameters,
    RequestCommitment,
    ResultStatement,
    ResultStatus
} from "./SibylTypes.sol";

/// @title ISibylCoordinator
/// @notice Where dapps ask for AI inference and operators answer it. Every answer becomes a leaf of a
/// Poseidon Merkle log (depth 32) whose root moves only by a verified Groth16 BatchAppend proof:
/// either in the delivering transaction (fulfill) or later, for answers delivered at once (deliver)
/// and held meanwhile in a bounded, hash-chained queue (prove).
/// @dev Leaf = uint256(keccak256(abi.encode(requestId, modelId, inputHash, outputHash, metadataHash,
/// status, operator))) >> 8, the same as src/shared/encoding.ts; `operator` is the account that
/// delivered it, so a copied fulfilment proves nothing for anyone else. Every delivered result gets
/// the next sequence number; leaves enter the log in sequence order, each batch as an aligned subtree.
interface ISibylCoordinator {
    // ─── Errors ────────────────────────────────────────────────────────────────────────────────────

    /// @notice No model is registered under `modelId`.
    error UnknownModel(bytes32 modelId);
    /// @notice A model is already registered under `modelId`.
    error ModelAlreadyRegistered(bytes32 modelId);
    /// @notice The model exists but the owner disabled it.
    error ModelDisabled(bytes32 modelId);
    /// @notice Model limits must all be positive, and outputs at most MAX_OUTPUT_BYTES.
    error InvalidModelLimits(bytes32 modelId, uint32 maxInputBytes, uint32 maxOutputBytes, uint32 timeout);
    /// @notice The input is empty.
    error EmptyInput(bytes32 modelId);
    /// @notice The input is longer than the model accepts.
    error InputTooLarge(bytes32 modelId, uint256 length, uint256 maxLength);
    /// @notice The callback gas limit is above the coordinator's cap.
    error CallbackGasLimitTooHigh(uint32 callbackGasLimit, uint32 maxCallbackGasLimit);
    /// @notice Less ether was sent than estimateFee asks at this block's base fee.
    error InsufficientPayment(uint256 paid, uint256 required);
    /// @notice Requests need at least one active operator to be assigned to.
    error NoActiveOperator();
    /// @notice Refunds cannot go to the zero address.
    error InvalidRefundAddress();
    /// @notice Only the assigned operator may deliver this request: with deliver always, with fulfill
    /// (or take it over with reassign) until its exclusive window ends.
    error NotAssignedOperator(uint256 requestId, address assigned, uint64 exclusiveUntil);
    /// @notice An assignee cannot take over its own request: renewing its window again and again would
    /// keep every other operator out until the deadline.
    error AlreadyAssigned(uint256 requestId, address operator);
    /// @notice The metadata is longer than any result may carry.
    error MetadataTooLarge(uint256 requestId, uint256 length, uint256 maxLength);
    /// @notice The callback gas cap is above what lets any one request fit a transaction alone.
    error CallbackGasCapTooHigh(uint32 maxCallbackGasLimit, uint32 limit);
    /// @notice The unbonding delay or exclusive window is longer than the coordinator allows.
    error OperatorDelayTooLong(uint64 delay, uint64 limit);
    /// @notice The caller is not an active operator.
    error NotActiveOperator(address caller);
    /// @notice A fulfilment must carry between 1 and the largest verifier's batch size results.
    error UnsupportedBatchSize(uint256 count);
    /// @notice The request is not pending: unknown, already fulfilled or cancelled, or twice in a batch.
    error RequestNotPending(uint256 requestId);
    /// @notice The re-supplied commitment does not hash to the stored one.
    error CommitmentMismatch(uint256 requestId);
    /// @notice The request's deadline has passed; it can only be cancelled now.
    error RequestExpired(uint256 requestId, uint64 deadline);
    /// @notice The request's deadline has not passed yet.
    error RequestNotExpired(uint256 requestId, uint64 deadline);
    /// @notice The output is longer than the request's model allowed when it was made.
    error OutputTooLarge(uint256 requestId, uint256 length, uint256 maxLength);
    /// @notice The status is not a ResultStatus.
    error InvalidStatus(uint256 requestId, uint8 status);
    /// @notice The batch would not fit in the 2^32 leaves of the log.
    error TreeFull(uint256 startIndex, uint256 batchSize);
    /// @notice The new root is not a field element.
    error RootOutOfField(uint256 newRoot);
    /// @notice The proof does not show that the batch turns the current root into `newRoot`.
    error InvalidProof(uint256 oldRoot, uint256 newRoot, uint256 startIndex, uint256 batchSize);
    /// @notice Too little gas is left to give a consumer its full callback gas (the 63/64 rule).
    error InsufficientGasForCallback(uint256 requestId, uint256 gasLeft, uint256 callbackGasLimit);
    /// @notice A verifier's own batch size differs from the slot it is set for.
    error VerifierBatchSizeMismatch(uint256 batchSize, uint256 verifierBatchSize);
    /// @notice Batch sizes must be powers of two from 1 to 2^32.
    error InvalidBatchSize(uint256 batchSize);
    /// @notice The operator is already registered and active.
    error OperatorAlreadyActive(address operator);
    /// @notice The stake is below the minimum.
    error StakeTooLow(uint256 stake, uint256 minStake);
    /// @notice The operator has no stake that can be withdrawn yet.
    error StakeLocked(address operator, uint64 unlockAt);
    /// @notice There is nothing to withdraw.
    error NothingToWithdraw(address account);
    /// @notice Sending ether to `to` failed; the balance is kept.
    error TransferFailed(address to, uint256 amount);
    /// @notice fulfill proves its results at once, so it cannot go ahead of delivered, unproven ones;
    /// prove those first (or deliver these too).
    error UnprovenLeavesPending(uint256 proven, uint256 delivered);
    /// @notice The queue of unproven leaves is full: prove some before delivering more.
    error TooManyPendingLeaves(uint256 pending, uint256 count, uint256 maxPending);
    /// @notice prove needs between 1 and all of the pending leaves.
    error NotPendingLeaves(uint256 firstSequence, uint256 count, uint256 pending);
    /// @notice The leaves are not the next pending ones, or do not end where a delivery ended.
    error PendingLeavesMismatch(uint256 firstSequence, uint256 count);
    /// @notice A model's quorum must be between 1 and MAX_QUORUM.
    error InvalidQuorum(bytes32 modelId, uint8 quorum);
    /// @notice A model's quorum may only be raised: its pending requests are checked against it.
    error QuorumLowered(bytes32 modelId, uint8 quorum, uint8 proposed);
    /// @notice Fewer operators are active than the model's quorum needs: no request could be answered.
    error NotEnoughOperators(bytes32 modelId, uint256 active, uint8 quorum);
    /// @notice A result carries `count` co-signatures where its model's quorum needs `needed`.
    error WrongSignatureCount(uint256 requestId, uint256 count, uint256 needed);
    /// @notice A co-signature is invalid, or its signer is not active, is the deliverer, or is not
    /// above the previous signer (signers ascend, so none counts twice). Zero for an unreadable one.
    error InvalidCosigner(uint256 requestId, address signer);
    /// @notice The two statements are not one signer's different answers to one request.
    error NotEquivocation(uint256 requestId, address signerA, address signerB);
    /// @notice This operator was already slashed for equivocating on this request.
    error EquivocationAlreadySlashed(address operator, uint256 requestId);
    /// @notice A report must be committed (commitEquivocationReport) in an earlier block by its sender.
    error ReportNotCommitted(bytes32 commitment);
    /// @notice The operator has no stake left to slash.
    error NothingToSlash(address operator);
    /// @notice Basis points above 10,000.
    error SlashShareTooHigh(uint16 bps);
    /// @notice An operator's published endpoint is at most MAX_ENDPOINT_BYTES long.
    error EndpointTooLong(uint256 length, uint256 maxLength);

    // ─── Events ────────────────────────────────────────────────────────────────────────────────────

    event ModelRegistered(bytes32 indexed modelId, Model model);
    event ModelUpdated(bytes32 indexed modelId, Model model);
    event VerifierSet(uint256 indexed batchSize, address verifier);
    event FeeParametersSet(FeeParameters parameters);
    event OperatorParametersSet(OperatorParameters parameters);

    /// @notice A request was made; `commitment` is what the fulfilment must re-supply.
    event InferenceRequested(
        uint256 indexed requestId,
        bytes32 indexed modelId,
        address indexed requester,
        RequestCommitment commitment,
        bytes input
    );
    /// @notice A result was delivered by `operator` as the log's `sequence`-th result and, if asked for,
    /// passed to the requester; `fee` was charged from the escrow and the rest credited to its refundTo.
    /// @dev Enough to recompute the leaf on its own. Its slot in the tree is given by the BatchAppended
    /// that covers `sequence`: in the same transaction (fulfill) or a later one (prove).
    event ResultDelivered(
        uint256 indexed requestId,
        bytes32 indexed modelId,
        address indexed operator,
        uint256 sequence,
        ResultStatus status,
        CallbackOutcome callback,
        uint256 fee,
        bytes32 inputHash,
        bytes output,
        bytes metadata
    );
    /// @notice The log's root moved from `oldRoot` to `newRoot` by a subtree of `batchSize` leaves at
    /// `startIndex`, of which the first `count` are the results of sequence `firstSequence` onwards, in
    /// order, and the rest empty. `prover` sent the proof.
    event BatchAppended(
        address indexed prover,
        uint256 oldRoot,
        uint256 newRoot,
        uint256 startIndex,
        uint256 batchSize,
        uint256 count,
        uint256 firstSequence
    );
    /// @notice `operator` took over a request whose exclusive window had passed; `commitment` is what
    /// its fulfilment must re-supply now (operator and exclusiveUntil changed).
    event RequestReassigned(
        uint256 indexed requestId,
        address indexed operator,
        RequestCommitment commitment
    );
    event RequestCancelled(uint256 indexed requestId, address indexed refundTo, uint256 refund);
    event OperatorRegistered(address indexed operator, uint256 stake);
    event OperatorExitRequested(address indexed operator, uint64 unlockAt);
    event StakeWithdrawn(address indexed operator, uint256 amount);
    event BalanceCredited(address indexed account, uint256 amount);
    event BalanceWithdrawn(address indexed account, uint256 amount);
    /// @notice `operator` publishes where its node takes co-signing requests from other operators.
    event OperatorEndpointSet(address indexed operator, string endpoint);
    /// @notice `operator` let request `requestId`'s exclusive window pass and lost `amount` of its stake:
    /// held for whoever delivers the request, or its refundTo if it is cancelled.
    event OperatorPenalized(address indexed operator, uint256 indexed requestId, uint256 amount);
    /// @notice `operator` signed two different answers to request `requestId`; `amount` of its stake
    /// went to `reporter`, and it left the active set.
    event OperatorSlashed(
        address indexed operator,
        uint256 indexed requestId,
        address indexed reporter,
        uint256 amount
    );
    /// @notice `operator` left the active set without asking (slashed, or its stake could no longer pay
    /// a liveness penalty); its stake unlocks at `unlockAt`.
    event OperatorDeactivated(address indexed operator, uint64 unlockAt);

    // ─── Requests ──────────────────────────────────────────────────────────────────────────────────

    /// @notice The escrow a request for `modelId` with `callbackGasLimit` needs at `gasPrice` per gas.
    /// @dev model fee + (callbackGasLimit + deliveryGas + proofGasPerLeaf + gasPerOutputByte *
    /// maxOutputBytes) *
    /// max(gasPrice, minGasPrice): enough for the request to be delivered alone at that price. The
    /// charge itself is measured at fulfilment; the rest of the escrow goes back. Quote with the
    /// chain's current base fee plus headroom: an eth_call sees block.basefee 0 on most clients.
    function estimateFee(
        bytes32 modelId,
        uint32 callbackGasLimit,
        uint256 gasPrice
    ) external view returns (uint256);

    /// @notice Asks `modelId` to answer `input`; the result comes back to msg.sender's onSibylResult
    /// with `callbackGasLimit` gas (0: no callback). All of msg.value is escrow, at least
    /// estimateFee at this block's base fee; what the delivery does not cost goes to `refundTo`.
    function request(
        bytes32 modelId,
        bytes calldata input,
        uint32 callbackGasLimit,
        address refundTo
    ) external payable returns (uint256 requestId);

    /// @notice Cancels an unanswered request after its deadline; anyone may call, its refundTo is
    /// credited the whole escrow.
    function cancel(RequestCommitment calldata commitment) external;

    /// @notice Hash of the pending request's commitment (its lowest bit flipped while a late assignee's
    /// liveness penalty is held for it), or zero if it is not pending.
    function commitmentOf(uint256 requestId) external view returns (bytes32);

    /// @notice The id the next request will get; ids start at 1.
    function nextRequestId() external view returns (uint256);

    // ─── Fulfilment ────────────────────────────────────────────────────────────────────────────────

    /// @notice Appends a batch of results, proven to move the root to `newRoot`, delivers each, and
    /// charges each request its measured share of the transaction's gas at the price paid.
    /// @dev The batch uses the smallest verifier that fits; its leaves after the results are empty.
    /// `proof` is a, b, c as eight words (see IBatchVerifier). The leaves include msg.sender. Reverts
    /// with UnprovenLeavesPending while delivered results wait for their proof.
    function fulfill(
        Fulfillment[] calldata fulfillments,
        uint256 newRoot,
        uint256[8] calldata proof
    ) external;

    /// @notice Delivers results without a proof: each is checked, its leaf computed and added to the
    /// queue of pending leaves, its requester called back, and its request charged its measured share
    /// of the transaction plus proofGasPerLeaf toward the proof, all credited to the operator.
    /// @dev Only a request's assigned operator may deliver it this way (nothing else binds the results
    /// to their sender, so a copied delivery must fail): another operator takes over a request whose
    /// window passed with reassign, or fulfils it with a proof. At most the largest batch size per
    /// call, and at most MAX_PENDING_LEAVES pending in all.
    function deliver(Fulfillment[] calldata fulfillments) external;

    /// @notice Takes over requests whose exclusive window has passed: msg.sender (an active operator)
    /// becomes their assigned operator with a new exclusive window, so it may deliver them without a
    /// proof. A copy of this call makes its sender do the work, so it steals nothing.
    function reassign(RequestCommitment[] calldata commitments) external;

    /// @notice Proves that the next `leaves.length` pending leaves move the root to `newRoot`. Anyone
    /// may call (the leaves are in ResultDelivered events); it pays nothing, the delivering operators
    /// were paid for the proof's gas.
    /// @dev `leaves` must be the queue's first leaves up to where some delivery ended.
    function prove(uint256[] calldata leaves, uint256 newRoot, uint256[8] calldata proof) external;

    /// @notice Pays now for the storage the pending queue's checkpoints will use, slots `from` to `to`
    /// (at most the ring's 1024), so no delivery pays 22.1k for a fresh slot. Anyone may call; it
    /// changes nothing else. Deployment prepares the first 256.
    function prepareCheckpoints(uint256 from, uint256 to) external;

    /// @notice The current root of the result log.
    function root() external view returns (uint256);

    /// @notice The first slot never written; the next batch starts at the next multiple of its size.
    function nextIndex() external view returns (uint64);

    /// @notice The queue of delivered, unproven results: sequences proven .. delivered - 1, and the
    /// hash chain at each end (see ResultLog).
    function pendingLog()
        external
        view
        returns (uint256 proven, uint256 delivered, bytes32 head, bytes32 tail);

    /// @notice The batch sizes with a verifier, smallest first.
    function batchSizes() external view returns (uint256[] memory);

    // ─── Operators and balances ────────────────────────────────────────────────────────────────────

    /// @notice Registers msg.sender as an operator, staking msg.value (added to any stake left); it
    /// joins the active set requests are assigned from.
    function registerOperator() external payable;

    /// @notice Stops msg.sender fulfilling; its stake unlocks after the unbonding delay.
    function requestOperatorExit() external;

    /// @notice Withdraws msg.sender's unlocked stake.
    function withdrawStake() external;

    /// @notice Withdraws msg.sender's credited balance: earnings, refunds and overpayments.
    function withdraw() external;

    function operatorOf(address operator) external view returns (Operator memory);

    /// @notice Publishes where msg.sender's node takes co-signing requests (a URL; empty to withdraw).
    function setOperatorEndpoint(string calldata endpoint) external;

    /// @notice Where `operator`'s node takes co-signing requests, as it published it.
    function operatorEndpoint(address operator) external view returns (string memory);

    /// @notice Step one of reporting an equivocation: `commitment` is keccak256(abi.encode(reporter,
    /// a, signatureA, b, signatureB)). The report is accepted from a later block, so a copy of it seen
    /// in the mempool cannot take the reporter's reward.
    function commitEquivocationReport(bytes32 commitment) external;

    /// @notice Proves that one operator signed two different answers (`a`, `b`) to one request: it loses
    /// equivocationSlashBps of its stake to msg.sender and its active status. Stake still unbonding is
    /// slashable; each operator once per request.
    function reportEquivocation(
        ResultStatement calldata a,
        bytes calldata signatureA,
        ResultStatement calldata b,
        bytes calldata signatureB
    ) external;

    /// @notice The EIP-712 digest an operator signs to vouch for `statement`.
    function statementDigest(ResultStatement calldata statement) external view returns (bytes32);

    /// @notice The operators new requests are assigned to.
    function activeOperators() external view returns (address[] memory);

    function balanceOf(address account) external view returns (uint256);

    function modelOf(bytes32 modelId) external view returns (Model memory);

    // ─── Owner ─────────────────────────────────────────────────────────────────────────────────────

    function registerModel(bytes32 modelId, Model calldata model) external;

    /// @notice Changes a model's terms; its quorum may only be raised (QuorumLowered).
    function updateModel(bytes32 modelId, Model calldata model) external;

    /// @notice Sets the verifier for `batchSize`; address zero removes that batch size.
    function setVerifier(uint256 batchSize, address verifier) external;

    function setFeeParameters(FeeParameters calldata parameters) external;

    function feeParameters() external view returns (FeeParameters memory);

    function setOperatorParameters(OperatorParameters calldata parameters) external;

    function operatorParameters() external view returns (OperatorParameters memory);

    /// @notice Stops new requests; refunds, fulfilments and withdrawals go on.
    function pause() external;

    function unpause() external;
}
