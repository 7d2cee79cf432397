// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice How a request was answered. Recorded in the result's leaf and passed to the consumer.
/// @dev Append-only: the node and the TypeScript encoding (src/shared/encoding.ts) use the same numbers.
enum ResultStatus {
    Ok,
    InvalidInput,
    ModelError,
    ModelTimeout,
    OutputTooLarge,
    /// @dev A quorum model's operators did not agree: no answer (empty output), no model fee. Proven,
    /// never claimed: two other operators' disagreeing signed statements, or no quorum by halfway
    /// through the assignee's exclusive window (a time the deliverer does not choose).
    NoConsensus
}

/// @notice What happened when the coordinator called the requester back.
enum CallbackOutcome {
    /// @dev No callback: the request asked for none (gas limit 0) or the requester has no code.
    Skipped,
    Succeeded,
    /// @dev The consumer reverted or ran out of its gas; the result still stands.
    Failed
}

/// @notice A model operators serve, as registered by the owner.
/// @dev `timeout` is never zero for a registered model, so it doubles as the "exists" flag.
struct Model {
    uint96 fee;
    uint32 maxInputBytes;
    uint32 maxOutputBytes;
    uint32 timeout;
    bool enabled;
    /// @dev Operators that must give the same answer: the deliverer and quorum − 1 co-signers (1..16).
    uint8 quorum;
    /// @dev keccak256 of the operator-side configuration (provider, model name, temperature, seed,
    /// max tokens, system prompt); a node refuses to serve a model whose local config hashes otherwise.
    bytes32 configHash;
}

/// @notice Everything a fulfilment must match. Only its hash is stored; the node re-supplies it.
struct RequestCommitment {
    uint256 requestId;
    bytes32 modelId;
    bytes32 inputHash;
    /// @dev Called back with the result.
    address requester;
    /// @dev Credited what the escrow does not pay for: the rest after fulfilment, all of it on cancel.
    address refundTo;
    /// @dev The operator assigned (at request time or by reassign): deliver is only its, fulfill only its
    /// until `exclusiveUntil`.
    address operator;
    /// @dev The most this request can be charged: model fee plus its measured share of the gas.
    uint96 escrow;
    uint64 deadline;
    uint64 exclusiveUntil;
    uint32 callbackGasLimit;
    uint32 maxOutputBytes;
}

/// @notice What requests pay for gas, and the limits that keep any one request deliverable.
struct FeeParameters {
    /// @dev Gas a lone fulfilment takes besides its callback and output bytes; used in quotes only,
    /// the charge itself is measured.
    uint32 deliveryGas;
    /// @dev Quote gas per byte of the model's largest output (calldata and log bytes).
    uint32 gasPerOutputByte;
    /// @dev Floor of the gas price quotes and the request's minimum escrow use.
    uint64 minGasPrice;
    /// @dev Most tip per gas a fulfilment may charge requesters above the base fee.
    uint64 maxPriorityFeePerGas;
    uint32 maxCallbackGasLimit;
    /// @dev Gas each result delivered without a proof is charged toward the later BatchAppend proof of
    /// its leaf; credited to the delivering operator (proofs pay nothing); quotes include it.
    uint32 proofGasPerLeaf;
}

/// @notice How operators join, leave and share requests.
struct OperatorParameters {
    uint128 minStake;
    /// @dev Seconds between an operator's exit and its stake unlocking.
    uint64 unbondingDelay;
    /// @dev Seconds after a request during which only its assigned operator may deliver it.
    uint64 exclusiveWindow;
    /// @dev Taken from the stake of an assignee that lets its window pass, and burned: paid to nobody,
    /// so nobody gains by causing it.
    uint128 livenessPenalty;
    /// @dev Share of its stake, in basis points, an operator loses to whoever proves it equivocated.
    uint16 equivocationSlashBps;
}

/// @notice One answered request inside a batch fulfilment.
struct Fulfillment {
    RequestCommitment commitment;
    /// @dev A ResultStatus; taken as uint8 so an unknown value reverts with InvalidStatus, not a panic.
    uint8 status;
    bytes output;
    bytes metadata;
    /// @dev For a quorum model: quorum − 1 co-signers' 65-byte EIP-712 signatures of the ResultStatement
    /// (r, s, v each), in ascending order of signer; empty otherwise. For NoConsensus: empty (accepted
    /// halfway through the assignee's window), or evidence of disagreement: two other operators' signed
    /// statements, each 98 bytes (outputHash, status, 65-byte signature), for different answers.
    bytes signatures;
}

/// @notice What an operator signs when it vouches for a result: it ran the request's model itself and
/// got this output and status. Signed as EIP-712 typed data of the coordinator's domain.
struct ResultStatement {
    uint256 requestId;
    bytes32 outputHash;
    uint8 status;
}

/// @notice A node operator's registration.
struct Operator {
    uint128 stake;
    uint64 unlockAt;
    bool active;
}
