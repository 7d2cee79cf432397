// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice How a request was answered. Recorded in the result's leaf and passed to the consumer.
/// @dev Append-only: the node and the TypeScript encoding (src/shared/encoding.ts) use the same numbers.
enum ResultStatus {
    Ok,
    InvalidInput,
    ModelError,
    ModelTimeout,
    OutputTooLarge
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
    /// @dev keccak256 of the operator-side configuration (provider, model name, temperature, seed,
    /// max tokens, system prompt); a node refuses to serve a model whose local config hashes otherwise.
    bytes32 configHash;
}

/// @notice Everything a fulfilment must match. Only its hash is stored; the node re-supplies it.
struct RequestCommitment {
    uint256 requestId;
    bytes32 modelId;
    bytes32 inputHash;
    address requester;
    uint96 fee;
    uint64 deadline;
    uint32 callbackGasLimit;
    uint32 maxOutputBytes;
}

/// @notice One answered request inside a batch fulfilment.
struct Fulfillment {
    RequestCommitment commitment;
    /// @dev A ResultStatus; taken as uint8 so an unknown value reverts with InvalidStatus, not a panic.
    uint8 status;
    bytes output;
    bytes metadata;
}

/// @notice A node operator's registration.
struct Operator {
    uint128 stake;
    uint64 unlockAt;
    bool active;
}
