// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IOperatorLedger} from "./IOperatorLedger.sol";
import {ISibylLog} from "./ISibylLog.sol";
import {
    CallbackOutcome,
    FeeParameters,
    Fulfillment,
    Model,
    RequestCommitment,
    ResultStatement,
    ResultStatus
} from "./SibylTypes.sol";

/// @title ISibylCoordinator
/// @notice Where dapps ask for AI inference and operators answer it: one version of the request logic,
/// replaceable. Every answer becomes a leaf of the long-lived result log (ISibylLog), whose root moves
/// only by a verified Groth16 BatchAppend proof: either in the delivering transaction (fulfill) or
/// later, for answers delivered at once (deliver) and queued in the log meanwhile. Operators, their
/// stakes and penalties live in the long-lived operators' ledger (IOperatorLedger). When a successor is
/// authorized in the log, this version takes no new requests and finishes or refunds its own.
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
    /// @notice Too little gas is left to give a consumer its full callback gas (the 63/64 rule).
    error InsufficientGasForCallback(uint256 requestId, uint256 gasLeft, uint256 callbackGasLimit);
    /// @notice There is nothing to withdraw.
    error NothingToWithdraw(address account);
    /// @notice Sending ether to `to` failed; the balance is kept.
    error TransferFailed(address to, uint256 amount);
    /// @notice A model's quorum must be between 1 and MAX_QUORUM.
    error InvalidQuorum(bytes32 modelId, uint8 quorum);
    /// @notice A model's quorum may only be raised: its pending requests are checked against it.
    error QuorumLowered(bytes32 modelId, uint8 quorum, uint8 proposed);
    /// @notice A result carries `count` co-signatures where its model's quorum needs `needed`.
    error WrongSignatureCount(uint256 requestId, uint256 count, uint256 needed);
    /// @notice A co-signature is invalid, or its signer does not serve the model (active, declared),
    /// is the deliverer, or is not above the previous signer (signers ascend, so none counts twice).
    /// Zero for an unreadable one.
    error InvalidCosigner(uint256 requestId, address signer);
    /// @notice NoConsensus carries no output: there was no agreed answer to give.
    error NoConsensusWithOutput(uint256 requestId, uint256 outputLength);
    /// @notice NoConsensus without evidence is accepted only from `provableFrom` on (halfway through
    /// the assignee's exclusive window, or one window before the deadline if sooner), a time the
    /// deliverer does not choose.
    error NoConsensusTooEarly(uint256 requestId, uint64 provableFrom);
    /// @notice NoConsensus evidence is two 98-byte signed statements (outputHash, status, signature).
    error MalformedDisagreement(uint256 requestId, uint256 length);
    /// @notice The evidence does not show two operators serving the model, neither the deliverer,
    /// signing different answers.
    error NotDisagreement(uint256 requestId, address signerA, address signerB);
    /// @notice This coordinator version takes no new requests: `successor` does (it still delivers,
    /// cancels and refunds the requests it took).
    error RetiredCoordinator(address successor);
    /// @notice Only the result log may activate or retire a coordinator (when it authorizes one).
    error NotLog(address caller);
    /// @notice The log has not authorized this version (yet): nodes would not see its requests.
    error CoordinatorNotAuthorized(address log);
    /// @notice The caller does not serve the request's model (is not active, or did not declare it).
    error NotServingModel(address caller, bytes32 modelId);

    // ─── Events ────────────────────────────────────────────────────────────────────────────────────

    event ModelRegistered(bytes32 indexed modelId, Model model);
    event ModelUpdated(bytes32 indexed modelId, Model model);
    event FeeParametersSet(FeeParameters parameters);
    /// @notice This version takes no new requests from now on; `successor` does.
    event CoordinatorRetired(address indexed successor);

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
    /// @dev Enough to recompute the leaf on its own. Its slot in the tree is given by the log's
    /// BatchAppended that covers `sequence`: in the same transaction (fulfill) or a later one (prove).
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
    /// @notice `operator` took over a request whose exclusive window had passed; `commitment` is what
    /// its fulfilment must re-supply now (operator and exclusiveUntil changed).
    event RequestReassigned(
        uint256 indexed requestId,
        address indexed operator,
        RequestCommitment commitment
    );
    event RequestCancelled(uint256 indexed requestId, address indexed refundTo, uint256 refund);
    /// @notice `account` was credited `amount` by a cancel (its whole escrow). Refunds and operators'
    /// earnings from deliveries are not announced apart: ResultDelivered carries each request's fee.
    event BalanceCredited(address indexed account, uint256 amount);
    event BalanceWithdrawn(address indexed account, uint256 amount);

    // ─── Requests ──────────────────────────────────────────────────────────────────────────────────

    /// @notice The escrow a request for `modelId` with `callbackGasLimit` needs at `gasPrice` per gas.
    /// @dev model fee + (callbackGasLimit + deliveryGas + proofGasPerLeaf + gasPerOutputByte *
    /// maxOutputBytes) * max(gasPrice, minGasPrice): enough for the request to be delivered alone at
    /// that price. The charge itself is measured at fulfilment; the rest of the escrow goes back. Quote
    /// with the chain's current base fee plus headroom: an eth_call sees block.basefee 0 on most clients.
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

    /// @notice Hash of the pending request's commitment, or zero if it is not pending.
    function commitmentOf(uint256 requestId) external view returns (bytes32);

    /// @notice The id the next request will get. Ids continue across versions: a successor starts
    /// where its predecessor stopped, so a request id names one request of the whole deployment.
    function nextRequestId() external view returns (uint256);

    /// @notice The first request id this version took.
    function firstRequestId() external view returns (uint256);

    // ─── Fulfilment ────────────────────────────────────────────────────────────────────────────────

    /// @notice Appends a batch of results, proven to move the log's root to `newRoot`, delivers each,
    /// and charges each request its measured share of the transaction's gas at the price paid.
    /// @dev The batch uses the smallest verifier that fits; its leaves after the results are empty.
    /// `proof` is a, b, c as eight words (see IBatchVerifier). The leaves include msg.sender: the
    /// requests' assignee (as with deliver), or, for requests whose window passed, any operator that
    /// serves their model.
    /// Reverts with UnprovenLeavesPending while delivered results wait for their proof.
    function fulfill(
        Fulfillment[] calldata fulfillments,
        uint256 newRoot,
        uint256[8] calldata proof
    ) external;

    /// @notice Delivers results without a proof: each is checked, its leaf computed and queued in the
    /// log, its requester called back, and its request charged its measured share of the transaction
    /// plus proofGasPerLeaf toward the proof, all credited to the operator.
    /// @dev Only a request's assigned operator may deliver it this way (nothing else binds the results
    /// to their sender, so a copied delivery must fail): another operator takes over a request whose
    /// window passed with reassign, or fulfils it with a proof. At most the log's largest batch size per
    /// call, and at most its MAX_PENDING_LEAVES pending in all.
    function deliver(Fulfillment[] calldata fulfillments) external;

    /// @notice Takes over requests whose exclusive window has passed: msg.sender (an operator serving
    /// their models) becomes their assigned operator with a new exclusive window, so it may deliver them
    /// without a proof. The late assignee's liveness penalty is burned by the ledger (nobody is paid for
    /// causing it), and waived when the request's escrow no longer pays for its delivery at today's base
    /// fee (what request() would ask for now): nodes may leave such a request waiting.
    function reassign(RequestCommitment[] calldata commitments) external;

    /// @notice The EIP-712 digest an operator signs to vouch for `statement` (this coordinator's domain).
    function statementDigest(ResultStatement calldata statement) external view returns (bytes32);

    // ─── Versions ──────────────────────────────────────────────────────────────────────────────────

    /// @notice The result log this version appends to (the long-lived root of the deployment).
    function log() external view returns (ISibylLog);

    /// @notice The operators' ledger this version assigns from.
    function ledger() external view returns (IOperatorLedger);

    /// @notice The version that takes new requests instead of this one; zero while this one does.
    function successor() external view returns (address);

    /// @notice Called by the log when it authorizes this version: it takes requests from now on.
    function activate() external;

    /// @notice Called by the log when it authorizes `successor`: no new requests from now on.
    function retire(address successor) external;

    // ─── Balances ──────────────────────────────────────────────────────────────────────────────────

    /// @notice Withdraws msg.sender's credited balance: earnings, refunds and overpayments.
    function withdraw() external;

    function balanceOf(address account) external view returns (uint256);

    function modelOf(bytes32 modelId) external view returns (Model memory);

    // ─── Owner ─────────────────────────────────────────────────────────────────────────────────────

    function registerModel(bytes32 modelId, Model calldata model) external;

    /// @notice Changes a model's terms; its quorum may only be raised (QuorumLowered).
    function updateModel(bytes32 modelId, Model calldata model) external;

    function setFeeParameters(FeeParameters calldata parameters) external;

    function feeParameters() external view returns (FeeParameters memory);

    /// @notice Stops new requests; refunds, fulfilments and withdrawals go on.
    function pause() external;

    function unpause() external;
}
